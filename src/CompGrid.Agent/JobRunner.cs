using System.Collections.Concurrent;
using CompGrid.Agents.Protocol;
using Microsoft.Extensions.Logging;

namespace CompGrid.Agent;

/// <summary>
/// Runs the portal's jobs in the Local sandbox on this machine and turns what the sandbox observes into reports and
/// log chunks. Output is sent from an offset that only moves after a send succeeded, so a portal that was away gets
/// the rest when the agent reconnects.
/// </summary>
internal sealed class JobRunner(IComputeBackend sandbox, string node, ILogger logger) : IDesktopJobs, IAsyncDisposable
{
    private const int MaxChunkChars = 16 * 1024; // under the hub's 64 KiB message limit, in UTF-8 too

    private sealed class Tracked(AgentJobAssignment assignment)
    {
        public AgentJobAssignment Assignment { get; } = assignment;
        public JobState Reported { get; set; } = JobState.Queued;
        public AgentJobReport? Final { get; set; }
        public int StdoutSent { get; set; }
        public int StderrSent { get; set; }

        /// <summary>Set once the sandbox has the job: until then there is nothing to ask it about.</summary>
        public volatile bool InSandbox;

        /// <summary>Why the desktop policy ended the job, once it did: its end is reported as NodeFailed with this reason.</summary>
        public volatile string? Vacated;
    }

    private readonly ConcurrentDictionary<string, Tracked> _jobs = new(StringComparer.Ordinal);

    /// <summary>Jobs the sandbox still has from before the agent (re)started; reported at registration, so the portal adopts or stops them.</summary>
    public async Task AdoptAsync(CancellationToken ct)
    {
        await foreach (var status in sandbox.ListJobsAsync(ct).ConfigureAwait(false))
        {
            if (status.JobId is not { } id) continue;
            _jobs.TryAdd(id, new Tracked(new AgentJobAssignment { JobId = id, Spec = new JobSpec { Owner = "unknown", Payload = JobPayload.Command("true") } }) { InSandbox = true });
        }
    }

    public async Task<IReadOnlyList<AgentJobReport>> CurrentAsync(CancellationToken ct)
    {
        var reports = new List<AgentJobReport>(_jobs.Count);
        foreach (var (id, job) in _jobs)
        {
            var report = job.Final ?? (job.InSandbox ? await ReportOfAsync(id, job, ct).ConfigureAwait(false) : null) ?? new AgentJobReport { JobId = id, State = job.Reported };
            // An end the portal has not heard of yet waits for the next poll, which sends the job's remaining output first:
            // announced here, the portal could settle the job before its last lines arrive.
            if (report.State.IsTerminal() && !job.Reported.IsTerminal())
                report = report with { State = job.Reported, ExitCode = null, Signal = null, Reason = null, CpuTime = null, PeakMemoryBytes = null };
            reports.Add(report);
        }
        return reports;
    }

    public IReadOnlyList<string> Running => [.. _jobs.Where(kv => kv.Value.Final is null).Select(kv => kv.Key)];

    public async Task<AgentJobReport?> StartAsync(AgentJobAssignment assignment, CancellationToken ct)
    {
        if (!_jobs.TryAdd(assignment.JobId, new Tracked(assignment))) return null; // sent twice: already running
        try
        {
            await sandbox.SubmitAsync(new BackendJobRequest
            {
                JobId = assignment.JobId, Spec = assignment.Spec, Nodes = [node], MemoryMiBPerNode = assignment.MemoryMiB, Walltime = assignment.Walltime,
            }, ct).ConfigureAwait(false);
            _jobs[assignment.JobId].InSandbox = true;
            Log.Started(logger, assignment.JobId);
            return null;
        }
        catch (CompGridException ex)
        {
            // The sandbox refused it (a staging problem, an account that does not exist): the job fails, the agent goes on.
            var failed = new AgentJobReport { JobId = assignment.JobId, State = JobState.Failed, Reason = "the agent could not start the job: " + ex.Message };
            _jobs[assignment.JobId].Final = failed;
            return failed;
        }
    }

    // Linux signal numbers: the Local sandbox runs on Linux.
    private const int SigStop = 19, SigCont = 18;

    public bool Suspend(string jobId) => Signal(jobId, SigStop);

    public bool Resume(string jobId) => Signal(jobId, SigCont);

    private bool Signal(string jobId, int signal) =>
        OperatingSystem.IsLinux() && _jobs.TryGetValue(jobId, out var job) && job.InSandbox && sandbox is CompGrid.Local.LocalComputeBackend local && local.Signal(jobId, signal);

    public async Task VacateAsync(string jobId, string reason, CancellationToken cancellationToken)
    {
        if (!_jobs.TryGetValue(jobId, out var job) || !job.InSandbox || job.Final is not null) return;
        job.Vacated = reason;
        try { await sandbox.CancelAsync(jobId, cancellationToken).ConfigureAwait(false); }
        catch (CompGridException) { /* ended meanwhile */ }
    }

    public Task CancelAsync(string jobId, CancellationToken ct) =>
        _jobs.ContainsKey(jobId) ? sandbox.CancelAsync(jobId, ct) : Task.CompletedTask;

    /// <summary>Removes every file of the job and forgets it.</summary>
    public async Task CleanupAsync(string jobId, CancellationToken ct)
    {
        if (!_jobs.TryRemove(jobId, out _)) return;
        try { await sandbox.CancelAsync(jobId, ct).ConfigureAwait(false); }
        catch (CompGridException) { /* ended already */ }
        await sandbox.CompleteAsync(jobId, ct).ConfigureAwait(false);
        Log.CleanedUp(logger, jobId);
    }

    /// <summary>One pass over the jobs: new output and state changes go out through <paramref name="send"/>.</summary>
    public async Task PollAsync(Func<string, object, Task> send, CancellationToken ct)
    {
        foreach (var (id, job) in _jobs)
        {
            if (job.Final is { } final && job.Reported == final.State) continue;
            if (job.Final is null && !job.InSandbox) continue; // still being submitted
            var report = job.Final ?? await ReportOfAsync(id, job, ct).ConfigureAwait(false);
            await SendLogsAsync(id, job, send, ct).ConfigureAwait(false);
            if (report is null || report.State == job.Reported) continue;
            await send(AgentProtocol.ReportJob, report).ConfigureAwait(false);
            job.Reported = report.State;
            if (report.State.IsTerminal()) job.Final = report;
        }
    }

    private async Task<AgentJobReport?> ReportOfAsync(string id, Tracked job, CancellationToken ct)
    {
        var status = await sandbox.GetStatusAsync(id, ct).ConfigureAwait(false);
        if (status is null) return new AgentJobReport { JobId = id, State = JobState.NodeFailed, Reason = "the agent's sandbox no longer knows the job" };
        var a = job.Assignment;
        var report = new AgentJobReport
        {
            JobId = id, State = status.State, ExitCode = status.ExitCode, Signal = status.Signal, Reason = status.Reason,
            Cpus = a.Spec.Resources.Cpus, MemoryMiB = a.MemoryMiB, Gpus = a.Spec.Resources.Gpus,
        };
        if (!status.State.IsTerminal()) return report;
        if (job.Vacated is { } vacated) report = report with { State = JobState.NodeFailed, Reason = vacated };
        var usage = await sandbox.GetUsageAsync(id, ct).ConfigureAwait(false);
        return report with { CpuTime = usage?.CpuTime, PeakMemoryBytes = usage?.PeakMemoryBytes };
    }

    private async Task SendLogsAsync(string id, Tracked job, Func<string, object, Task> send, CancellationToken ct)
    {
        JobLogs logs;
        try { logs = await sandbox.GetLogsAsync(id, ct).ConfigureAwait(false); }
        catch (CompGridException) { return; }
        job.StdoutSent = await SendFromAsync(id, false, logs.StandardOutput, job.StdoutSent, send).ConfigureAwait(false);
        job.StderrSent = await SendFromAsync(id, true, logs.StandardError, job.StderrSent, send).ConfigureAwait(false);
    }

    private static async Task<int> SendFromAsync(string id, bool stderr, string text, int sent, Func<string, object, Task> send)
    {
        if (text.Length < sent) sent = 0; // the sandbox cut its log to its limit: send what it kept
        while (sent < text.Length)
        {
            int length = Math.Min(MaxChunkChars, text.Length - sent);
            await send(AgentProtocol.AppendLog, new AgentLogChunk { JobId = id, Stderr = stderr, Text = text.Substring(sent, length) }).ConfigureAwait(false);
            sent += length;
        }
        return sent;
    }

    public ValueTask DisposeAsync() => sandbox is IAsyncDisposable d ? d.DisposeAsync() : ValueTask.CompletedTask;
}

using System.Runtime.CompilerServices;
using CompGrid.Agents.Protocol;
using Microsoft.Extensions.Logging;

namespace CompGrid.Agents;

/// <summary>
/// The backend whose nodes are the connected agents. CompGrid's placement core chooses the machine; the backend sends
/// the job over that machine's channel and answers from what the agents reported, as the portal observed it.
/// </summary>
internal sealed class AgentComputeBackend(string name, AgentRegistry registry, IAgentChannel channel, ILogger logger) : IComputeBackend
{
    public string Name { get; } = name;

    public BackendCapabilities Capabilities { get; } = new()
    {
        PlacesJobsItself = false, Containers = false, Gpus = true, MultiNode = false, LogStreaming = true, PushesEvents = false,
        Payloads = [PayloadKind.CommandLine, PayloadKind.Script, PayloadKind.Executable],
    };

    public async Task<string> SubmitAsync(BackendJobRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Nodes.Count != 1)
            throw new CompGridException($"Agent jobs run on exactly one machine (got {request.Nodes.Count} nodes).")
            { Backend = Name, Operation = "submit", JobId = request.JobId, Code = CompGridErrorCodes.Invalid };
        string machine = request.Nodes[0];
        var (job, connection, refusal) = registry.Assign(machine, request);
        if (job is null)
            throw new CompGridException($"Cannot run job {request.JobId} on '{machine}': {refusal}.")
            { Backend = Name, Operation = "submit", JobId = request.JobId, IsTransient = true, Code = CompGridErrorCodes.Unavailable };
        if (connection is null) return job.BackendJobId; // submitted before (a retry): idempotent
        try
        {
            await channel.SendAsync(connection, AgentProtocol.RunJob, new AgentJobAssignment
            {
                JobId = request.JobId, Spec = request.Spec, MemoryMiB = request.MemoryMiBPerNode, Walltime = request.Walltime,
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            registry.Forget(request.JobId);
            throw new CompGridException($"Cannot reach the agent on '{machine}': {ex.Message}", ex)
            { Backend = Name, Operation = "submit", JobId = request.JobId, IsTransient = true, Code = CompGridErrorCodes.Unavailable };
        }
        Log.Assigned(logger, request.JobId, machine);
        return job.BackendJobId;
    }

    public Task<BackendJobStatus?> GetStatusAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        registry.ExpireSilentMachines();
        if (!AgentJobIds.TryParse(backendJobId, out string machine, out string jobId)) return Task.FromResult<BackendJobStatus?>(null);
        var status = registry.Read(jobId, j => j.Machine == machine ? j.ToStatus() : null);
        if (status is not null) return Task.FromResult<BackendJobStatus?>(status);
        // Not known (yet): after a portal restart the agent tells us about its jobs when it reconnects.
        var (known, _, registered) = registry.MachineState(machine);
        if (known && !registered && registry.InGracePeriod)
            throw new CompGridException($"Waiting for the agent on '{machine}' to reconnect before job {jobId}'s state is known.")
            { Backend = Name, Operation = "status", JobId = jobId, IsTransient = true, Code = CompGridErrorCodes.Unavailable };
        return Task.FromResult<BackendJobStatus?>(null);
    }

    public async Task CancelAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        if (!AgentJobIds.TryParse(backendJobId, out string machine, out string jobId)) throw new JobNotFoundException(backendJobId) { Backend = Name, Operation = "cancel" };
        if (registry.Read(jobId, j => j.Machine == machine ? j : null) is null)
        {
            // As for status: after a portal restart the agent may still have the job; until it reconnects, try again later.
            var (known, _, registered) = registry.MachineState(machine);
            if (known && !registered && registry.InGracePeriod)
                throw new CompGridException($"Waiting for the agent on '{machine}' to reconnect before job {jobId} can be cancelled.")
                { Backend = Name, Operation = "cancel", JobId = jobId, IsTransient = true, Code = CompGridErrorCodes.Unavailable };
            throw new JobNotFoundException(backendJobId) { Backend = Name, Operation = "cancel" };
        }
        if (registry.ConnectionOf(machine) is { } connection)
        {
            try
            {
                await channel.SendAsync(connection, AgentProtocol.CancelJob, jobId, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                throw new CompGridException($"Cannot reach the agent on '{machine}' to cancel job {jobId}: {ex.Message}", ex)
                { Backend = Name, Operation = "cancel", JobId = jobId, IsTransient = true, Code = CompGridErrorCodes.Unavailable };
            }
        }
        // The agent is away: the job is cancelled here; the agent is told to stop it when it registers again.
        registry.Report(machine, new AgentJobReport { JobId = jobId, State = JobState.Cancelled, Reason = "cancelled while the agent was disconnected" });
    }

    public async IAsyncEnumerable<BackendJobStatus> ListJobsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        registry.ExpireSilentMachines();
        foreach (var status in registry.Statuses())
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return status;
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    public Task<JobLogs> GetLogsAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        AgentJobIds.TryParse(backendJobId, out _, out string jobId);
        var logs = registry.Read(jobId, j => new JobLogs { StandardOutput = j.Stdout.ToString(), StandardError = j.Stderr.ToString(), Truncated = j.Stdout.Truncated || j.Stderr.Truncated })
            ?? throw new JobNotFoundException(backendJobId) { Backend = Name, Operation = "logs" };   // the backend contract's exception
        return Task.FromResult(logs);
    }

    public Task<IReadOnlyList<NodeInfo>> GetNodesAsync(CancellationToken cancellationToken = default)
    {
        registry.ExpireSilentMachines();
        return Task.FromResult<IReadOnlyList<NodeInfo>>(registry.Nodes(Name));
    }

    public Task<UsageRecord?> GetUsageAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        AgentJobIds.TryParse(backendJobId, out _, out string jobId);
        return Task.FromResult(registry.Read(jobId, j => !j.State.IsTerminal() ? null : new UsageRecord
        {
            JobId = j.JobId, Account = j.Account, User = j.Owner ?? "", Backend = Name, BackendJobId = j.BackendJobId, Partition = j.Partition, Qos = j.Qos,
            Nodes = [j.Machine], NodeCount = 1, StartedAt = j.StartedAt, EndedAt = j.EndedAt,
            Elapsed = j.StartedAt is { } s && j.EndedAt is { } e && e > s ? e - s : TimeSpan.Zero,
            AllocatedCpus = j.Cpus, AllocatedMemoryMiB = j.MemoryMiB, AllocatedGpus = j.Gpus,
            CpuTime = j.CpuTime ?? TimeSpan.Zero, PeakMemoryBytes = j.PeakMemoryBytes, ExitCode = j.ExitCode, FinalState = j.State,
        }));
    }

    public async Task CompleteAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        if (!AgentJobIds.TryParse(backendJobId, out string machine, out string jobId)) return;
        if (registry.ConnectionOf(machine) is { } connection)
        {
            try { await channel.SendAsync(connection, AgentProtocol.CleanupJob, jobId, cancellationToken).ConfigureAwait(false); }
            catch (Exception ex) when (ex is not OperationCanceledException) { /* the agent cleans up stale jobs when it registers again */ _ = ex; }
        }
        registry.Settled(jobId);
    }

    public override string ToString() => $"Agent backend '{Name}'";
}

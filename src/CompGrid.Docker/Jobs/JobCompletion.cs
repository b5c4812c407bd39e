using CompGrid.Docker.Diagnostics;
using CompGrid.Docker.Staging;

namespace CompGrid.Docker.Jobs;

/// <summary>
/// Completes ended jobs: keeps their logs (in memory and under <c>LogDirectory</c>, so they stay readable after the
/// container is gone), stages the outputs out through <see cref="OutputArchive"/> within the job's output budget, then
/// removes the container and its volume. A rejected output is reported after the container is removed.
/// </summary>
internal sealed class JobCompletion(DockerBackendState state, Func<string, CancellationToken, Task<BackendJobStatus?>> statusOf)
{
    private static readonly System.Diagnostics.ActivitySource s_activity = new(CompGridDiagnostics.SourceName);

    public async Task CompleteAsync(string backendJobId, CancellationToken cancellationToken)
    {
        if (!state.TryFind(backendJobId, out var engine, out _)) return;
        var status = await statusOf(backendJobId, cancellationToken).ConfigureAwait(false);
        if (status is null || !state.Jobs.TryGetValue(backendJobId, out var entry)) return; // unknown or already removed: nothing to do
        if (!status.State.IsTerminal())
            throw new CompGridException($"Job {entry.JobId} is still {status.State} on Docker engine '{engine.Name}'; complete it after it ended.")
            { Backend = state.Name, Operation = "complete", JobId = entry.JobId };
        lock (entry.Gate)
        {
            if (entry.Removed) return;
            entry.CompleteRequested = true;
            // An engine that is down is cleaned up when it comes back (see EngineHealthMonitor.OnReachableAsync).
            if (entry.PendingKill) return;
        }
        await CompleteCoreAsync(engine, entry, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Keeps the logs, stages the outputs out, then removes the container and its volume.</summary>
    public async Task CompleteCoreAsync(EngineNode engine, JobEntry entry, CancellationToken cancellationToken)
    {
        await entry.CompleteGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (entry.Removed) return;
            using var activity = s_activity.StartActivity("compgrid.docker.complete");
            activity?.SetTag("compgrid.job_id", entry.JobId);
            activity?.SetTag("compgrid.node", entry.Node);
            var client = engine.Client;
            JobLogs logs;
            try
            {
                logs = await client.GetLogsAsync(entry.ContainerId, state.Options.MaxLogBytes, entry.JobId, cancellationToken).ConfigureAwait(false);
            }
            catch (CompGridException e) when (e.Code == "docker-404")
            {
                lock (entry.Gate) entry.Removed = true; // removed outside CompGrid: nothing left to stage or remove
                return;
            }
            entry.FinalLogs = logs;
            try
            {
                Directory.CreateDirectory(state.LogRoot);
                await File.WriteAllTextAsync(LogPath(entry.Node, entry.ContainerId, "stdout"), logs.StandardOutput, cancellationToken).ConfigureAwait(false);
                await File.WriteAllTextAsync(LogPath(entry.Node, entry.ContainerId, "stderr"), logs.StandardError, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e) { Log.KeepLogsFailed(state.Logger, e, entry.JobId); }
            catch (UnauthorizedAccessException e) { Log.KeepLogsFailed(state.Logger, e, entry.JobId); }

            CompGridException? rejected = null;
            var budget = new OutputBudget(state.Options.MaxOutputBytes, state.Options.MaxOutputFiles);
            foreach (var item in entry.Outputs)
            {
                try { await StageOutAsync(engine, entry, item, budget, cancellationToken).ConfigureAwait(false); }
                catch (CompGridException e) when (e.Code is CompGridErrorCodes.UnsafeArchive or CompGridErrorCodes.OutputLimit) { rejected ??= e; Log.OutputRejected(state.Logger, entry.JobId, e.Message); }
            }
            await client.RemoveContainerAsync(entry.ContainerId, force: true, volumes: true, entry.JobId, cancellationToken).ConfigureAwait(false);
            lock (entry.Gate)
            {
                entry.Removed = true;
                entry.RemovedAt = state.Time.GetUtcNow();
            }
            Log.Completed(state.Logger, entry.JobId, entry.BackendJobId);
            if (rejected is not null) throw rejected;
        }
        finally
        {
            entry.CompleteGate.Release();
        }
    }

    private async Task StageOutAsync(EngineNode engine, JobEntry entry, StagingItem item, OutputBudget budget, CancellationToken cancellationToken)
    {
        var segments = TarStaging.Segments(item.Source);
        if (segments.Length == 0 || TarStaging.CheckRelativePath(item.Source) is not null || TarStaging.CheckRelativePath(item.Destination) is not null)
            throw Rejected(entry, $"Output '{item.Source}' -> '{item.Destination}' of job {entry.JobId} escapes its directory.", CompGridErrorCodes.UnsafeArchive);
        string source = entry.WorkDirectory.TrimEnd('/') + "/" + string.Join('/', segments);
        var archive = await engine.Client.GetArchiveAsync(entry.ContainerId, source, entry.JobId, cancellationToken).ConfigureAwait(false);
        if (archive is null)
        {
            Log.OutputMissing(state.Logger, entry.JobId, source);
            return;
        }
        string temp = Path.Combine(Path.GetTempPath(), "compgrid-out-" + Guid.NewGuid().ToString("N") + ".tar");
        var file = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 81920, FileOptions.DeleteOnClose);
        await using (file.ConfigureAwait(false))
        {
            await using (archive.ConfigureAwait(false))
            {
                // The download stops at the budget: a container cannot fill the portal's disk through its outputs.
                if (!await StageOutCopy.CopyAtMostAsync(archive, file, budget.ArchiveBytesLeft, cancellationToken).ConfigureAwait(false))
                    throw Rejected(entry, $"Output '{item.Source}' of job {entry.JobId} was not staged: the outputs are larger than {budget.MaxBytes} bytes (DockerBackendOptions.MaxOutputBytes).", CompGridErrorCodes.OutputLimit);
            }
            file.Position = 0;
            var (plan, problems) = OutputArchive.Check(file, segments[^1], entry.OutputDirectory, item.Destination, budget);
            if (plan is null)
            {
                bool limit = problems.Any(p => p.Contains("DockerBackendOptions.Max", StringComparison.Ordinal));
                throw Rejected(entry, $"Output '{item.Source}' of job {entry.JobId} was not staged: {string.Join("; ", problems)}.", limit ? CompGridErrorCodes.OutputLimit : CompGridErrorCodes.UnsafeArchive);
            }
            file.Position = 0;
            OutputArchive.Extract(file, plan);
            budget.Spend(plan.Bytes, plan.Entries.Count);
        }
    }

    private CompGridException Rejected(JobEntry entry, string message, string code) =>
        new(message) { Backend = state.Name, Operation = "stage-out", JobId = entry.JobId, Code = code };

    /// <summary>The job's logs: kept ones once completed, else the container's, else the copy on disk.</summary>
    public async Task<JobLogs> GetLogsAsync(string backendJobId, CancellationToken cancellationToken)
    {
        if (!state.TryFind(backendJobId, out var engine, out string containerId))
            throw new JobNotFoundException(backendJobId) { Backend = state.Name, Operation = "logs" };
        if (state.Jobs.TryGetValue(backendJobId, out var entry) && entry.FinalLogs is { } kept) return kept;
        try
        {
            return await engine.Client.GetLogsAsync(containerId, state.Options.MaxLogBytes, entry?.JobId, cancellationToken).ConfigureAwait(false);
        }
        catch (CompGridException e) when (e.Code == "docker-404")
        {
            if (await ReadKeptLogsAsync(engine.Name, containerId, cancellationToken).ConfigureAwait(false) is { } logs) return logs;
            throw new JobNotFoundException(backendJobId) { Backend = state.Name, Operation = "logs" };
        }
    }

    private string LogPath(string node, string containerId, string stream) => Path.Combine(state.LogRoot, $"{node}-{containerId}.{stream}");

    private async Task<JobLogs?> ReadKeptLogsAsync(string node, string containerId, CancellationToken cancellationToken)
    {
        string stdout = LogPath(node, containerId, "stdout");
        if (!File.Exists(stdout)) return null;
        string stderr = LogPath(node, containerId, "stderr");
        return new JobLogs
        {
            StandardOutput = await File.ReadAllTextAsync(stdout, cancellationToken).ConfigureAwait(false),
            StandardError = File.Exists(stderr) ? await File.ReadAllTextAsync(stderr, cancellationToken).ConfigureAwait(false) : "",
        };
    }
}

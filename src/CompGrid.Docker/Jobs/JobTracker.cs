using CompGrid.Docker.Diagnostics;
using CompGrid.Docker.Engine;

namespace CompGrid.Docker.Jobs;

/// <summary>
/// Knows each job's state: inspects its container, maps the state (with what CompGrid itself knows: cancel, walltime,
/// engine loss), keeps the final status once terminal, and adopts containers found on an engine after a restart of
/// CompGrid (from their labels). While an engine is unreachable its jobs stay Running until the grace period ends.
/// </summary>
internal sealed class JobTracker(DockerBackendState state, EngineHealthMonitor health, WalltimeEnforcer walltime)
{
    public async Task<BackendJobStatus?> GetStatusAsync(string backendJobId, CancellationToken cancellationToken)
    {
        if (!state.TryFind(backendJobId, out var engine, out string containerId)) return null;
        state.Jobs.TryGetValue(backendJobId, out var entry);
        if (entry?.Final is { } final) return final;
        ContainerInspect? container;
        try
        {
            container = await engine.Client.InspectContainerAsync(containerId, entry?.JobId, cancellationToken).ConfigureAwait(false);
        }
        catch (CompGridException e) when (DockerErrors.IsEngineFailure(e))
        {
            health.OnUnreachable(engine, e.Message);
            if (health.UnreachableStatus(engine, entry) is { } unreachable) return unreachable;
            throw;
        }
        await health.OnReachableAsync(engine).ConfigureAwait(false);
        if (container is null)
        {
            if (entry is null) return null;
            lock (entry.Gate)
                entry.Final ??= DockerBackendState.MakeStatus(entry, JobState.Failed, "removed", $"the container {containerId} was removed outside CompGrid", null, null, entry.StartedAt, state.Time.GetUtcNow());
            return entry.Final;
        }
        entry ??= Register(engine, container);
        return entry is null ? null : Observe(entry, container);
    }

    /// <summary>Registers a container found on an engine (after a restart of CompGrid); null when it is not this backend's.</summary>
    public JobEntry? Register(EngineNode engine, ContainerInspect container)
    {
        var fresh = JobEntry.FromContainer(state.Name, engine.Name, container);
        if (fresh is null) return null;
        var entry = state.Jobs.GetOrAdd(fresh.BackendJobId, fresh);
        if (ReferenceEquals(entry, fresh) && container.State.Running && entry.Walltime > TimeSpan.Zero)
        {
            var started = container.State.StartedAtTime ?? state.Time.GetUtcNow();
            walltime.Arm(entry, started + entry.Walltime - state.Time.GetUtcNow());
        }
        return entry;
    }

    private BackendJobStatus Observe(JobEntry entry, ContainerInspect container)
    {
        lock (entry.Gate)
        {
            if (entry.Final is { } final) return final;
            if (container.State.StartedAtTime is { } started) entry.StartedAt = started;
            if (container.State.Running) entry.EngineLostAt = null; // it survived the engine's outage
            var (jobState, reason, exit, signal) = ContainerStateMapper.Map(container.State, entry.Flags);
            bool terminal = jobState.IsTerminal();
            string native = container.State.Status + (container.State.OomKilled ? " (OOMKilled)" : "");
            var status = DockerBackendState.MakeStatus(entry, jobState, native, reason, exit, signal, entry.StartedAt,
                terminal ? container.State.FinishedAtTime ?? state.Time.GetUtcNow() : null);
            entry.Last = status;
            if (terminal)
            {
                entry.Final = status;
                entry.EndedAt = status.EndedAt;
                entry.WalltimeTimer?.Dispose();
                entry.WalltimeTimer = null;
            }
            return status;
        }
    }

    /// <summary>Stops a job's container; a job still only created ends Cancelled at once.</summary>
    public async Task CancelAsync(string backendJobId, CancellationToken cancellationToken)
    {
        if (!state.TryFind(backendJobId, out var engine, out string containerId))
            throw new JobNotFoundException(backendJobId) { Backend = state.Name, Operation = "cancel" };
        state.Jobs.TryGetValue(backendJobId, out var entry);
        if (entry?.Final is not null) return;
        var container = await engine.Client.InspectContainerAsync(containerId, entry?.JobId, cancellationToken).ConfigureAwait(false);
        if (container is null)
        {
            if (entry is null) throw new JobNotFoundException(backendJobId) { Backend = state.Name, Operation = "cancel" };
            return;
        }
        entry ??= Register(engine, container) ?? throw new JobNotFoundException(backendJobId) { Backend = state.Name, Operation = "cancel" };
        if (Array.IndexOf(DockerBackendState.LiveStates, container.State.Status) < 0) return; // already ended: no effect
        lock (entry.Gate)
        {
            if (entry.Final is not null) return;
            entry.CancelRequested = true;
            if (container.State.Status == "created")
            {
                entry.Final = DockerBackendState.MakeStatus(entry, JobState.Cancelled, "created", "cancelled before it started", null, null, null, state.Time.GetUtcNow());
                entry.Last = entry.Final;
            }
        }
        Log.Cancelling(state.Logger, entry.JobId, backendJobId);
        await engine.Client.StopContainerAsync(containerId, state.Options.StopTimeout, entry.JobId, cancellationToken).ConfigureAwait(false);
        state.Publish(await GetStatusAsync(backendJobId, cancellationToken).ConfigureAwait(false));
    }
}

using CompGrid.Docker.Diagnostics;

namespace CompGrid.Docker.Jobs;

/// <summary>
/// Enforces walltimes with <see cref="TimeProvider"/> timers: when a running job's time is up its container is stopped
/// (SIGTERM, SIGKILL after <c>StopTimeout</c>) and the job ends TimedOut. Timers are re-armed from the container's
/// start time when a restarted CompGrid finds its jobs again.
/// </summary>
internal sealed class WalltimeEnforcer(DockerBackendState state, Func<string, CancellationToken, Task<BackendJobStatus?>> statusOf)
{
    /// <summary>Arms (or re-arms) the job's timer to fire in <paramref name="dueIn"/>.</summary>
    public void Arm(JobEntry entry, TimeSpan dueIn)
    {
        if (entry.Walltime <= TimeSpan.Zero) return;
        if (dueIn < TimeSpan.Zero) dueIn = TimeSpan.Zero;
        lock (entry.Gate)
        {
            entry.WalltimeTimer?.Dispose();
            entry.WalltimeTimer = state.Time.CreateTimer(static s =>
            {
                var (enforcer, e) = ((WalltimeEnforcer, JobEntry))s!;
                _ = enforcer.EnforceAsync(e);
            }, (this, entry), dueIn, Timeout.InfiniteTimeSpan);
        }
    }

    private async Task EnforceAsync(JobEntry entry)
    {
        try
        {
            if (entry.Final is not null || !state.ByName.TryGetValue(entry.Node, out var engine)) return;
            var container = await engine.Client.InspectContainerAsync(entry.ContainerId, entry.JobId, state.Stopping).ConfigureAwait(false);
            if (container is null || !container.State.Running) return;
            lock (entry.Gate)
            {
                if (entry.Final is not null || entry.CancelRequested) return;
                entry.TimedOut = true;
            }
            Log.WalltimeExceeded(state.Logger, entry.JobId, entry.Walltime);
            await engine.Client.StopContainerAsync(entry.ContainerId, state.Options.StopTimeout, entry.JobId, state.Stopping).ConfigureAwait(false);
            state.Publish(await statusOf(entry.BackendJobId, state.Stopping).ConfigureAwait(false));
        }
        catch (Exception e) when (e is CompGridException or OperationCanceledException)
        {
            Log.WalltimeStopFailed(state.Logger, e, entry.JobId);
        }
    }
}

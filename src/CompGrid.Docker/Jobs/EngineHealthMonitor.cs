using CompGrid.Docker.Diagnostics;
using CompGrid.Docker.Engine;

namespace CompGrid.Docker.Jobs;

/// <summary>
/// Watches the engines: pings each one every <c>HealthCheckInterval</c>; an engine unreachable for longer than
/// <c>EngineDownAfter</c> is declared down and its unfinished jobs end NodeFailed (once). When it comes back, the
/// containers of those jobs are killed (and completed if completion was asked meanwhile). Also reports the nodes.
/// </summary>
internal sealed class EngineHealthMonitor(DockerBackendState state, JobCompletion completion)
{
    /// <summary>Pings every engine until <paramref name="cancellationToken"/> fires.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var timeout = state.Options.HealthCheckTimeout;
        while (!cancellationToken.IsCancellationRequested)
        {
            await Task.WhenAll(state.Engines.Select(async engine =>
            {
                try
                {
                    await engine.Client.PingAsync(timeout, cancellationToken).ConfigureAwait(false);
                    await OnReachableAsync(engine).ConfigureAwait(false);
                }
                catch (CompGridException e) when (DockerErrors.IsEngineFailure(e) || e.Code == "docker-500" || e.Code == "docker-503")
                {
                    OnUnreachable(engine, e.Message);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { }
            })).ConfigureAwait(false);
            state.ForgetOldJobs();
            try { await Task.Delay(state.Options.HealthCheckInterval, state.Time, cancellationToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>The status of a job whose engine cannot be reached: still Running within the grace period, NodeFailed after it.</summary>
    public BackendJobStatus? UnreachableStatus(EngineNode engine, JobEntry? entry)
    {
        if (entry is null) return null;
        var since = engine.UnreachableSince ?? state.Time.GetUtcNow();
        if (state.Time.GetUtcNow() - since >= state.Options.EngineDownAfter) DeclareDown(engine);
        lock (entry.Gate)
        {
            if (entry.Final is { } final) return final;
            entry.EngineLostAt ??= since;
            var last = entry.Last ?? DockerBackendState.MakeStatus(entry, JobState.Running, "unknown", null, null, null, entry.StartedAt, null);
            return last with
            {
                Reason = $"Docker engine '{engine.Name}' unreachable since {since:O} ({engine.LastError}); the job is reported NodeFailed if it stays unreachable for {state.Options.EngineDownAfter}",
            };
        }
    }

    public void OnUnreachable(EngineNode engine, string error)
    {
        bool first = engine.UnreachableSince is null;
        var since = engine.MarkUnreachable(state.Time.GetUtcNow(), error);
        if (first) Log.EngineUnreachable(state.Logger, engine.Name, engine.Client.Endpoint.Display, error);
        foreach (var entry in state.Jobs.Values)
        {
            if (entry.Node != engine.Name) continue;
            lock (entry.Gate)
                if (entry.Final is null) entry.EngineLostAt ??= since;
        }
        if (state.Time.GetUtcNow() - since >= state.Options.EngineDownAfter) DeclareDown(engine);
    }

    /// <summary>Marks the engine's node down and its unfinished jobs NodeFailed (once).</summary>
    private void DeclareDown(EngineNode engine)
    {
        if (!engine.TryDeclareDown()) return;
        var since = engine.UnreachableSince ?? state.Time.GetUtcNow();
        string reason = $"Docker engine '{engine.Name}' ({engine.Client.Endpoint.Display}) has been unreachable since {since:O}: {engine.LastError}";
        Log.EngineDown(state.Logger, engine.Name, reason);
        var now = state.Time.GetUtcNow();
        foreach (var entry in state.Jobs.Values)
        {
            if (entry.Node != engine.Name) continue;
            BackendJobStatus? failed;
            lock (entry.Gate)
            {
                if (entry.Final is not null || entry.Removed) continue;
                failed = DockerBackendState.MakeStatus(entry, JobState.NodeFailed, "engine-unreachable", reason, null, null, entry.StartedAt, now);
                entry.Final = failed;
                entry.Last = failed;
                entry.EndedAt = now;
                entry.PendingKill = true;
                entry.WalltimeTimer?.Dispose();
                entry.WalltimeTimer = null;
            }
            state.Publish(failed);
        }
    }

    public async Task OnReachableAsync(EngineNode engine)
    {
        if (!engine.MarkReachable()) return;
        Log.EngineBack(state.Logger, engine.Name);
        foreach (var entry in state.Jobs.Values.Where(e => e.Node == engine.Name).ToList())
        {
            bool kill, complete;
            lock (entry.Gate)
            {
                kill = entry.PendingKill;
                complete = entry.CompleteRequested && !entry.Removed;
                entry.PendingKill = false;
            }
            if (!kill) continue;
            try
            {
                // The job was reported NodeFailed; a container that survived the outage must not keep running.
                await engine.Client.KillContainerAsync(entry.ContainerId, "SIGKILL", entry.JobId, state.Stopping).ConfigureAwait(false);
                if (complete) await completion.CompleteCoreAsync(engine, entry, state.Stopping).ConfigureAwait(false);
            }
            catch (Exception e) when (e is CompGridException or OperationCanceledException or IOException)
            {
                Log.CleanupFailed(state.Logger, e, entry.JobId);
            }
        }
    }

    /// <summary>One node per engine: capacity from <c>/info</c> or the options, free = capacity − CompGrid's running containers.</summary>
    public async Task<NodeInfo> GetNodeAsync(EngineNode engine, CancellationToken cancellationToken)
    {
        var o = engine.Options;
        var node = new NodeInfo
        {
            Name = engine.Name,
            Backend = state.Name,
            Features = ["docker", .. o.Features],
            Partitions = [.. o.Partitions],
            GpuModel = o.GpuModel,
        };
        try
        {
            var info = await state.GetInfoAsync(engine, cancellationToken, refresh: true).ConfigureAwait(false);
            var running = await engine.Client.ListContainersAsync([DockerLabels.Managed + "=true"], all: false, cancellationToken).ConfigureAwait(false);
            await OnReachableAsync(engine).ConfigureAwait(false);
            var capacity = Capacity(engine, info);
            var used = new NodeResources(
                running.Sum(c => DockerLabels.GetInt(c.Labels, DockerLabels.Cpus)),
                running.Sum(c => DockerLabels.GetLong(c.Labels, DockerLabels.MemoryMiB)),
                running.Sum(c => DockerLabels.GetInt(c.Labels, DockerLabels.Gpus)));
            var free = capacity - used;
            return node with
            {
                Capacity = capacity,
                Free = new NodeResources(Math.Max(0, free.Cpus), Math.Max(0, free.MemoryMiB), Math.Max(0, free.Gpus)),
                State = NodeState.Up,
                NativeState = $"docker {info.ServerVersion}, API {engine.Client.ApiVersion}",
            };
        }
        catch (CompGridException e) when (DockerErrors.IsEngineFailure(e))
        {
            OnUnreachable(engine, e.Message);
            return node with
            {
                Capacity = Capacity(engine, engine.Info),
                Free = default,
                State = NodeState.Down,
                NativeState = "unreachable",
                Reason = $"Docker engine unreachable since {engine.UnreachableSince:O}: {e.Message}",
            };
        }
    }

    private static NodeResources Capacity(EngineNode engine, InfoResponse? info) => new(
        engine.Options.Cpus ?? info?.NCpu ?? 0,
        engine.Options.MemoryMiB ?? (info?.MemTotal ?? 0) / (1024 * 1024),
        engine.Options.Gpus);
}

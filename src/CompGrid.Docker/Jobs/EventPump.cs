using System.Runtime.CompilerServices;
using System.Threading.Channels;
using CompGrid.Docker.Diagnostics;

namespace CompGrid.Docker.Jobs;

/// <summary>
/// Turns every engine's <c>/events</c> stream (container start, die and oom of this backend's containers) into job
/// statuses for <see cref="IBackendEventSource.WatchAsync"/>; reconnects after a drop and then reconciles the jobs
/// still thought unfinished, since events may have been missed.
/// </summary>
internal sealed class EventPump(DockerBackendState state, JobTracker tracker)
{
    public async IAsyncEnumerable<BackendJobStatus> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateUnbounded<BackendJobStatus>(new UnboundedChannelOptions { SingleReader = true });
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, state.Stopping);
        state.AddWatcher(channel.Writer);
        var pumps = state.Engines.Select(e => Task.Run(() => PumpAsync(e, channel.Writer, cts.Token), CancellationToken.None)).ToArray();
        try
        {
            await foreach (var status in channel.Reader.ReadAllAsync(cts.Token).ConfigureAwait(false))
                yield return status;
        }
        finally
        {
            state.RemoveWatcher(channel.Writer);
            await cts.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(pumps).ConfigureAwait(false);
        }
    }

    private async Task PumpAsync(EngineNode engine, ChannelWriter<BackendJobStatus> writer, CancellationToken cancellationToken)
    {
        var filters = new Dictionary<string, string[]>
        {
            ["type"] = ["container"],
            ["event"] = ["start", "die", "oom"],
            ["label"] = [DockerLabels.Managed + "=true", DockerLabels.Backend + "=" + state.Name],
        };
        long? since = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (since is not null)
                {
                    foreach (var entry in state.Jobs.Values.Where(j => j.Node == engine.Name && j.Final is null).ToList())
                        if (await tracker.GetStatusAsync(entry.BackendJobId, cancellationToken).ConfigureAwait(false) is { } s) writer.TryWrite(s);
                }
                await foreach (var ev in engine.Client.MonitorEventsAsync(filters, since, cancellationToken).ConfigureAwait(false))
                {
                    since = ev.Time;
                    if (ev.Actor?.Id is not { Length: > 0 } id) continue;
                    if (await tracker.GetStatusAsync(engine.Name + "/" + id, cancellationToken).ConfigureAwait(false) is { } status) writer.TryWrite(status);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is CompGridException or IOException or System.Text.Json.JsonException or InvalidDataException)
            {
                Log.EventsInterrupted(state.Logger, engine.Name, e.Message);
            }
            since ??= state.Time.GetUtcNow().ToUnixTimeSeconds();
            try { await Task.Delay(TimeSpan.FromSeconds(1), state.Time, cancellationToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
        }
    }
}

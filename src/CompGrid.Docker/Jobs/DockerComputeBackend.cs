using System.Runtime.CompilerServices;
using CompGrid.Docker.Diagnostics;
using Microsoft.Extensions.Logging;

namespace CompGrid.Docker.Jobs;

/// <summary>
/// The Docker backend: each configured engine is a node that CompGrid's placement core chooses; a job is one
/// container on the chosen engine. Backend job ids are <c>&lt;node&gt;/&lt;container id&gt;</c>. This class only
/// wires the parts together: <see cref="JobLauncher"/>, <see cref="WalltimeEnforcer"/>, <see cref="JobTracker"/>,
/// <see cref="EngineHealthMonitor"/>, <see cref="EventPump"/>, <see cref="UsageSampler"/> and <see cref="JobCompletion"/>.
/// </summary>
internal sealed class DockerComputeBackend : IComputeBackend, IBackendEventSource, IAsyncDisposable, IDisposable
{
    private readonly DockerBackendState _state;
    private readonly JobLauncher _launcher;
    private readonly WalltimeEnforcer _walltime;
    private readonly JobTracker _tracker;
    private readonly EngineHealthMonitor _health;
    private readonly EventPump _events;
    private readonly UsageSampler _usage;
    private readonly JobCompletion _completion;
    private int _backgroundStarted;
    private int _disposed;
    private Task _background = Task.CompletedTask;

    public DockerComputeBackend(string name, DockerBackendOptions options, TimeProvider timeProvider, ILogger logger)
    {
        Name = name;
        _state = new DockerBackendState(name, options, timeProvider, logger);
        _completion = new JobCompletion(_state, GetStatusAsync);
        _walltime = new WalltimeEnforcer(_state, GetStatusAsync);
        _health = new EngineHealthMonitor(_state, _completion);
        _tracker = new JobTracker(_state, _health, _walltime);
        _launcher = new JobLauncher(_state, _walltime, _tracker);
        _events = new EventPump(_state, _tracker);
        _usage = new UsageSampler(_state);
        Capabilities = new BackendCapabilities
        {
            PlacesJobsItself = false,
            Containers = true,
            Gpus = options.Engines.Any(e => e.Gpus > 0),
            MultiNode = false,
            LogStreaming = true,
            PushesEvents = true,
            Payloads = options.DefaultImage is null
                ? [PayloadKind.Container]
                : [PayloadKind.Container, PayloadKind.CommandLine, PayloadKind.Script, PayloadKind.Executable],
        };
    }

    public string Name { get; }

    public BackendCapabilities Capabilities { get; }

    /// <summary>How many stats samples were applied (for tests).</summary>
    internal int SamplesTaken => _usage.SamplesTaken;

    /// <summary>Takes one stats sample of every unfinished job (what the sampler does every <c>StatsInterval</c>).</summary>
    internal Task SampleAllAsync(CancellationToken cancellationToken = default) => _usage.SampleAllAsync(cancellationToken);

    public Task<string> SubmitAsync(BackendJobRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        EnsureBackground();
        return _launcher.SubmitAsync(request, cancellationToken);
    }

    public Task<BackendJobStatus?> GetStatusAsync(string backendJobId, CancellationToken cancellationToken = default) =>
        _tracker.GetStatusAsync(backendJobId, cancellationToken);

    public Task CancelAsync(string backendJobId, CancellationToken cancellationToken = default) =>
        _tracker.CancelAsync(backendJobId, cancellationToken);

    public async IAsyncEnumerable<BackendJobStatus> ListJobsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var engine in _state.Engines)
        {
            IReadOnlyList<Engine.ContainerSummary>? containers = null;
            try
            {
                containers = await engine.Client.ListContainersAsync([DockerLabels.Managed + "=true", DockerLabels.Backend + "=" + Name], all: true, cancellationToken).ConfigureAwait(false);
            }
            catch (CompGridException e) when (DockerErrors.IsEngineFailure(e))
            {
                _health.OnUnreachable(engine, e.Message);
            }
            if (containers is null)
            {
                // The engine is unreachable: report what is known of its jobs (Running within the grace period, then NodeFailed).
                foreach (var entry in _state.Jobs.Values.Where(j => j.Node == engine.Name && !j.Removed).ToList())
                    if (_health.UnreachableStatus(engine, entry) is { } s) yield return s;
                continue;
            }
            foreach (var c in containers)
            {
                var status = await GetStatusAsync(engine.Name + "/" + c.Id, cancellationToken).ConfigureAwait(false);
                if (status is not null) yield return status;
            }
        }
    }

    public Task<JobLogs> GetLogsAsync(string backendJobId, CancellationToken cancellationToken = default) =>
        _completion.GetLogsAsync(backendJobId, cancellationToken);

    public async Task<IReadOnlyList<NodeInfo>> GetNodesAsync(CancellationToken cancellationToken = default)
    {
        EnsureBackground();
        _state.ForgetOldJobs();
        return await Task.WhenAll(_state.Engines.Select(e => _health.GetNodeAsync(e, cancellationToken))).ConfigureAwait(false);
    }

    public async Task<UsageRecord?> GetUsageAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        if (!_state.TryFind(backendJobId, out var engine, out _)) return null;
        var status = await GetStatusAsync(backendJobId, cancellationToken).ConfigureAwait(false);
        if (status is null || !status.State.IsTerminal() || !_state.Jobs.TryGetValue(backendJobId, out var entry)) return null;
        return _usage.Build(engine, entry, status);
    }

    public Task CompleteAsync(string backendJobId, CancellationToken cancellationToken = default) =>
        _completion.CompleteAsync(backendJobId, cancellationToken);

    public IAsyncEnumerable<BackendJobStatus> WatchAsync(CancellationToken cancellationToken = default)
    {
        EnsureBackground();
        return _events.WatchAsync(cancellationToken);
    }

    /// <summary>The <c>node/container</c> parts of a backend job id (for tests and callers that parse ids).</summary>
    internal static bool TryParseId(string backendJobId, out string node, out string containerId) =>
        DockerBackendState.TryParseId(backendJobId, out node, out containerId);

    /// <summary>The least-loaded cores for a job (see <see cref="JobLauncher.PickCores"/>).</summary>
    internal static string PickCores(int[] load, int count) => JobLauncher.PickCores(load, count);

    private void EnsureBackground()
    {
        if (Interlocked.Exchange(ref _backgroundStarted, 1) == 1) return;
        var token = _state.Stopping;
        _background = Task.WhenAll(
            Task.Run(() => _health.RunAsync(token), CancellationToken.None),
            Task.Run(() => _usage.RunAsync(token), CancellationToken.None));
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        await _state.StopAsync().ConfigureAwait(false);
        try { await _background.ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        _state.Dispose();
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _state.StopAsync().GetAwaiter().GetResult();
        try { _background.Wait(TimeSpan.FromSeconds(5)); }
        catch (AggregateException) { }
        _state.Dispose();
    }
}

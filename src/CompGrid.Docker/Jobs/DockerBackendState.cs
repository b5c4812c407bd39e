using System.Collections.Concurrent;
using System.Threading.Channels;
using CompGrid.Docker.Engine;
using Microsoft.Extensions.Logging;

namespace CompGrid.Docker.Jobs;

/// <summary>
/// What the parts of one Docker backend share: its options, clock and logger, the engines of the pool, the jobs it
/// tracks (one <see cref="JobEntry"/> each, guarded by the entry's own lock) and the watchers events go to.
/// </summary>
internal sealed class DockerBackendState : IDisposable
{
    /// <summary>Container states in which a job is still alive.</summary>
    public static readonly string[] LiveStates = ["created", "running", "paused", "restarting"];

    /// <summary>How long the status and logs of a removed container stay in memory (logs stay on disk after that).</summary>
    public static readonly TimeSpan CompletedRetention = TimeSpan.FromHours(1);

    private readonly ConcurrentDictionary<ChannelWriter<BackendJobStatus>, byte> _watchers = new();
    private readonly CancellationTokenSource _shutdown = new();

    public DockerBackendState(string name, DockerBackendOptions options, TimeProvider timeProvider, ILogger logger)
    {
        Name = name;
        Options = options;
        Time = timeProvider;
        Logger = logger;
        Engines = options.Engines.Select(e =>
        {
            var endpoint = DockerEndpoint.TryParse(e.Endpoint, e.Tls is not null, out string? error)
                ?? throw new CompGridException($"Docker backend '{name}': engine '{e.Name}' endpoint {error}.") { Backend = name, Operation = "configure" };
            return new EngineNode(e, new DockerEngineClient(name, e.Name, endpoint, e.Tls, timeProvider, options.RequestTimeout, options.MaxApiVersion));
        }).ToList();
        ByName = Engines.ToDictionary(e => e.Name, StringComparer.Ordinal);
        string temp = Path.Combine(Path.GetTempPath(), "compgrid-docker", name);
        OutputRoot = options.OutputDirectory ?? Path.Combine(temp, "outputs");
        LogRoot = options.LogDirectory ?? Path.Combine(temp, "logs");
    }

    public string Name { get; }
    public DockerBackendOptions Options { get; }
    public TimeProvider Time { get; }
    public ILogger Logger { get; }
    public IReadOnlyList<EngineNode> Engines { get; }
    public IReadOnlyDictionary<string, EngineNode> ByName { get; }
    public ConcurrentDictionary<string, JobEntry> Jobs { get; } = new(StringComparer.Ordinal);

    /// <summary>Where outputs go when a spec names no output directory (a sub-directory per job).</summary>
    public string OutputRoot { get; }

    /// <summary>Where the final logs of removed containers are kept.</summary>
    public string LogRoot { get; }

    /// <summary>Cancelled when the backend is disposed.</summary>
    public CancellationToken Stopping => _shutdown.Token;

    public bool IsStopping => _shutdown.IsCancellationRequested;

    public Task StopAsync() => _shutdown.CancelAsync();

    public void AddWatcher(ChannelWriter<BackendJobStatus> writer) => _watchers[writer] = 0;

    public void RemoveWatcher(ChannelWriter<BackendJobStatus> writer) => _watchers.TryRemove(writer, out _);

    /// <summary>Tells every watcher about a status change.</summary>
    public void Publish(BackendJobStatus? status)
    {
        if (status is null) return;
        foreach (var writer in _watchers.Keys) writer.TryWrite(status);
    }

    /// <summary>The engine of a backend job id <c>&lt;node&gt;/&lt;container id&gt;</c>, or false.</summary>
    public bool TryFind(string backendJobId, out EngineNode engine, out string containerId)
    {
        engine = null!;
        return TryParseId(backendJobId, out string node, out containerId) && ByName.TryGetValue(node, out engine!);
    }

    /// <summary>Splits a backend job id <c>&lt;node&gt;/&lt;container id&gt;</c>.</summary>
    public static bool TryParseId(string backendJobId, out string node, out string containerId)
    {
        int slash = backendJobId.IndexOf('/', StringComparison.Ordinal);
        node = slash > 0 ? backendJobId[..slash] : "";
        containerId = slash > 0 ? backendJobId[(slash + 1)..] : "";
        return slash > 0 && containerId.Length > 0 && !containerId.Contains('/', StringComparison.Ordinal);
    }

    /// <summary>The engine's <c>/info</c>, cached unless <paramref name="refresh"/>.</summary>
    public async Task<InfoResponse> GetInfoAsync(EngineNode engine, CancellationToken cancellationToken, bool refresh = false)
    {
        if (!refresh && engine.Info is { } cached) return cached;
        var info = await engine.Client.GetInfoAsync(cancellationToken).ConfigureAwait(false);
        engine.Info = info;
        return info;
    }

    /// <summary>Drops what is kept of removed containers after <see cref="CompletedRetention"/> (their logs stay on disk).</summary>
    public void ForgetOldJobs()
    {
        var cutoff = Time.GetUtcNow() - CompletedRetention;
        foreach (var (id, entry) in Jobs)
        {
            if (entry.RemovedAt is { } at && at < cutoff && Jobs.TryRemove(id, out _))
                entry.WalltimeTimer?.Dispose();
        }
    }

    public static BackendJobStatus MakeStatus(JobEntry entry, JobState state, string? native, string? reason, int? exit, int? signal, DateTimeOffset? started, DateTimeOffset? ended) => new()
    {
        BackendJobId = entry.BackendJobId,
        JobId = entry.JobId,
        State = state,
        NativeState = native,
        Reason = reason,
        ExitCode = exit,
        Signal = signal,
        StartedAt = started,
        EndedAt = ended,
        Nodes = [entry.Node],
    };

    public void Dispose()
    {
        foreach (var entry in Jobs.Values)
        {
            entry.WalltimeTimer?.Dispose();
            entry.CompleteGate.Dispose();
        }
        foreach (var engine in Engines) engine.Dispose();
        _shutdown.Dispose();
    }
}

using System.Runtime.CompilerServices;
using System.Threading.Channels;
using CompGrid.Docker.Diagnostics;
using CompGrid.Docker.Jobs;
using Docker.DotNet;
using Polly;
using M = Docker.DotNet.Models;

namespace CompGrid.Docker.Engine;

/// <summary>
/// The package's facade over Docker.DotNet for one engine: API version negotiation (<c>/version</c>, unversioned, then
/// every call pinned to <c>min(MaxApiVersion, engine's)</c>, never below 1.40), timeouts on the injected
/// <see cref="TimeProvider"/>, failures mapped to <see cref="CompGridException"/> by <see cref="DockerErrors"/>, and
/// idempotent reads retried (Polly) on transient faults. Streams from the engine are disposed here or handed to the
/// caller to dispose; progress and events are reported through a synchronous <see cref="IProgress{T}"/>.
/// </summary>
internal sealed class DockerEngineClient : IDisposable
{
    /// <summary>The oldest Engine API CompGrid speaks (DeviceRequests arrived in 1.40).</summary>
    public const string MinimumApiVersion = "1.40";

    /// <summary>The error code of a connection failure (the engine is down or unreachable).</summary>
    public const string UnreachableCode = DockerErrors.UnreachableCode;

    private readonly DockerTlsOptions? _tls;
    private readonly TimeProvider _time;
    private readonly TimeSpan _requestTimeout;
    private readonly string _maxApiVersion;
    private readonly ResiliencePipeline _retry;
    private readonly DockerClient _unversioned;
    private readonly SemaphoreSlim _negotiateGate = new(1, 1);
    private DockerClient? _pinned;
    private string? _apiVersion;

    public DockerEngineClient(string backend, string node, DockerEndpoint endpoint, DockerTlsOptions? tls, TimeProvider timeProvider, TimeSpan requestTimeout, string maxApiVersion)
    {
        Backend = backend;
        Node = node;
        Endpoint = endpoint;
        _tls = tls;
        _time = timeProvider;
        _requestTimeout = requestTimeout;
        _maxApiVersion = maxApiVersion;
        _retry = DockerResilience.CreateReadPipeline(timeProvider);
        _unversioned = Build(null);
    }

    /// <summary>The backend name (for errors).</summary>
    public string Backend { get; }

    /// <summary>The node name (for errors).</summary>
    public string Node { get; }

    /// <summary>Where the engine listens.</summary>
    public DockerEndpoint Endpoint { get; }

    /// <summary>The negotiated API version, once negotiated.</summary>
    public string? ApiVersion => _apiVersion;

    private DockerClient Build(Version? apiVersion)
    {
        // Timeouts are ours (on the injected clock): Docker.DotNet's own would run on the wall clock.
        var builder = new DockerClientBuilder().WithEndpoint(Endpoint.ClientUri).WithTimeout(Timeout.InfiniteTimeSpan);
        if (apiVersion is not null) builder = builder.WithApiVersion(apiVersion);
        if (Endpoint.UseTls && _tls is not null) builder = builder.WithAuthProvider(EngineTls.Create(_tls));
        return builder.Build();
    }

    // ---------------------------------------------------------------- negotiation

    /// <summary>Negotiates the API version once: <c>min(client max, engine max)</c>, failing below 1.40 or below the engine's minimum.</summary>
    public async Task<string> NegotiateAsync(CancellationToken cancellationToken = default)
    {
        if (_apiVersion is { } known) return known;
        await _negotiateGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_apiVersion is { } again) return again;
            var version = await CallAsync("negotiate", null, static (c, ct) => c.System.GetVersionAsync(ct), cancellationToken, versioned: false).ConfigureAwait(false);
            string chosen = Negotiate(_maxApiVersion, version.APIVersion, version.MinAPIVersion, Node, Endpoint.Display);
            _pinned = Build(ParseVersion(chosen));
            _apiVersion = chosen;
            return chosen;
        }
        finally
        {
            _negotiateGate.Release();
        }
    }

    /// <summary>The version to speak with an engine offering <paramref name="engineMax"/> (and requiring <paramref name="engineMin"/>).</summary>
    internal static string Negotiate(string clientMax, string? engineMax, string? engineMin, string node, string endpoint)
    {
        var client = ParseVersion(clientMax);
        var engine = engineMax is null ? client : ParseVersion(engineMax);
        var chosen = engine < client ? engine : client;
        if (chosen < ParseVersion(MinimumApiVersion))
            throw new CompGridException($"Docker engine '{node}' ({endpoint}) speaks Engine API {engineMax}; CompGrid needs {MinimumApiVersion} or newer (Docker 19.03+).")
            { Operation = "negotiate", Code = CompGridErrorCodes.DockerApiTooOld };
        if (engineMin is not null && chosen < ParseVersion(engineMin))
            throw new CompGridException($"Docker engine '{node}' ({endpoint}) requires Engine API {engineMin} or newer; CompGrid speaks up to {clientMax}.")
            { Operation = "negotiate", Code = CompGridErrorCodes.DockerApiTooNew };
        return $"{chosen.Major}.{chosen.Minor}";
    }

    internal static Version ParseVersion(string text) =>
        Version.TryParse(text.Trim(), out var v) ? v : throw new FormatException($"'{text}' is not an API version like 1.41.");

    // ---------------------------------------------------------------- system

    /// <summary>Pings the engine (unversioned <c>/_ping</c>), without retries; throws when unreachable.</summary>
    public Task PingAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        CallAsync("ping", null, static async (c, ct) => { await c.System.PingAsync(ct).ConfigureAwait(false); return true; }, cancellationToken, timeout, versioned: false);

    public Task<VersionResponse> GetVersionAsync(CancellationToken cancellationToken = default) =>
        ReadAsync("version", null, static async (c, ct) =>
        {
            var v = await c.System.GetVersionAsync(ct).ConfigureAwait(false);
            return new VersionResponse { Version = v.Version, ApiVersion = v.APIVersion, MinApiVersion = v.MinAPIVersion, Os = v.Os, Arch = v.Arch };
        }, cancellationToken);

    public Task<InfoResponse> GetInfoAsync(CancellationToken cancellationToken = default) =>
        ReadAsync("info", null, static async (c, ct) => EngineModelMapping.ToInfo(await c.System.GetSystemInfoAsync(ct).ConfigureAwait(false)), cancellationToken);

    // ---------------------------------------------------------------- containers

    public Task<ContainerCreateResponse> CreateContainerAsync(string name, ContainerCreateRequest request, string? jobId, CancellationToken cancellationToken = default) =>
        CallAsync("create", jobId, async (c, ct) =>
        {
            var created = await c.Containers.CreateContainerAsync(EngineModelMapping.ToParameters(name, request), ct).ConfigureAwait(false);
            return new ContainerCreateResponse { Id = created.ID, Warnings = created.Warnings?.ToList() };
        }, cancellationToken);

    /// <summary>Starts a container; true when started, false when it already was (304).</summary>
    public Task<bool> StartContainerAsync(string id, string? jobId, CancellationToken cancellationToken = default) =>
        CallAsync("start", jobId, (c, ct) => c.Containers.StartContainerAsync(id, new M.ContainerStartParameters(), ct), cancellationToken);

    /// <summary>Stops a container (SIGTERM, SIGKILL after <paramref name="grace"/>); false when it was not running (304).</summary>
    public Task<bool> StopContainerAsync(string id, TimeSpan grace, string? jobId, CancellationToken cancellationToken = default) =>
        CallAsync("stop", jobId, (c, ct) => c.Containers.StopContainerAsync(id, new M.ContainerStopParameters { WaitBeforeKillSeconds = (uint)Math.Ceiling(grace.TotalSeconds) }, ct),
            cancellationToken, _requestTimeout + grace);

    /// <summary>Sends a signal; false when the container is not running (409).</summary>
    public async Task<bool> KillContainerAsync(string id, string signal, string? jobId, CancellationToken cancellationToken = default)
    {
        try
        {
            return await CallAsync("kill", jobId, async (c, ct) => { await c.Containers.KillContainerAsync(id, new M.ContainerKillParameters { Signal = signal }, ct).ConfigureAwait(false); return true; }, cancellationToken).ConfigureAwait(false);
        }
        catch (CompGridException e) when (e.Code == "docker-409")
        {
            return false;
        }
    }

    /// <summary>Removes a container (and its anonymous volumes with <paramref name="volumes"/>); false when it did not exist.</summary>
    public async Task<bool> RemoveContainerAsync(string id, bool force, bool volumes, string? jobId, CancellationToken cancellationToken = default)
    {
        try
        {
            return await CallAsync("remove", jobId, async (c, ct) =>
            {
                await c.Containers.RemoveContainerAsync(id, new M.ContainerRemoveParameters { Force = force, RemoveVolumes = volumes }, ct).ConfigureAwait(false);
                return true;
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (CompGridException e) when (e.Code == "docker-404")
        {
            return false;
        }
    }

    /// <summary>Inspects a container by id or name; null when it does not exist.</summary>
    public Task<ContainerInspect?> InspectContainerAsync(string idOrName, string? jobId, CancellationToken cancellationToken = default) =>
        ReadOrNullAsync("inspect", jobId, async (c, ct) => EngineModelMapping.ToInspect(await c.Containers.InspectContainerAsync(idOrName, ct).ConfigureAwait(false)), cancellationToken);

    /// <summary>Lists containers carrying every label in <paramref name="labels"/> (<c>key=value</c>, or <c>key</c> for presence).</summary>
    public Task<IReadOnlyList<ContainerSummary>> ListContainersAsync(IEnumerable<string> labels, bool all, CancellationToken cancellationToken = default)
    {
        var filters = EngineModelMapping.ToFilters(new Dictionary<string, string[]> { ["label"] = labels.ToArray() });
        return ReadAsync<IReadOnlyList<ContainerSummary>>("list", null, async (c, ct) =>
            (await c.Containers.ListContainersAsync(new M.ContainersListParameters { All = all, Filters = filters }, ct).ConfigureAwait(false))
                .Select(EngineModelMapping.ToSummary).ToList(), cancellationToken);
    }

    /// <summary>Waits until the container is not running; returns its exit code (no timeout).</summary>
    public Task<WaitResponse> WaitContainerAsync(string id, string? jobId, CancellationToken cancellationToken = default) =>
        CallAsync("wait", jobId, async (c, ct) =>
        {
            var w = await c.Containers.WaitContainerAsync(id, ct).ConfigureAwait(false);
            return new WaitResponse { StatusCode = (int)w.StatusCode, Error = w.Error?.Message is { } m ? new WaitError { Message = m } : null };
        }, cancellationToken, Timeout.InfiniteTimeSpan);

    /// <summary>Reads a container's logs so far, keeping at most <paramref name="maxBytes"/> per stream.</summary>
    public Task<JobLogs> GetLogsAsync(string id, int maxBytes, string? jobId, CancellationToken cancellationToken = default) =>
        CallAsync("logs", jobId, async (c, ct) =>
        {
            using var stream = await c.Containers.GetContainerLogsAsync(id, new M.ContainerLogsParameters { ShowStdout = true, ShowStderr = true, Follow = false }, ct).ConfigureAwait(false);
            return await LogReader.ReadAsync(stream, maxBytes, ct).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>Follows a container's logs until it ends or <paramref name="cancellationToken"/> fires.</summary>
    public async IAsyncEnumerable<StreamFrame> FollowLogsAsync(string id, string? jobId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var stream = await CallAsync("logs", jobId, (c, ct) => c.Containers.GetContainerLogsAsync(id, new M.ContainerLogsParameters { ShowStdout = true, ShowStderr = true, Follow = true }, ct),
            cancellationToken).ConfigureAwait(false);
        using (stream)
        {
            await foreach (var frame in LogReader.FramesAsync(stream, cancellationToken).ConfigureAwait(false))
                yield return frame;
        }
    }

    /// <summary>One stats sample (<c>stream=false&amp;one-shot=true</c>); null when the container does not exist.</summary>
    public Task<ContainerStats?> GetStatsAsync(string id, string? jobId, CancellationToken cancellationToken = default) =>
        ReadOrNullAsync("stats", jobId, async (c, ct) =>
        {
            M.ContainerStatsResponse? sample = null;
            await c.Containers.GetContainerStatsAsync(id, new M.ContainerStatsParameters { Stream = false, OneShot = true }, new SyncProgress<M.ContainerStatsResponse>(s => sample ??= s), ct).ConfigureAwait(false);
            return sample is null ? null : EngineModelMapping.ToStats(sample);
        }, cancellationToken);

    // ---------------------------------------------------------------- events

    /// <summary>Streams events matching <paramref name="filters"/> until cancelled or the connection drops.</summary>
    public async IAsyncEnumerable<DockerEvent> MonitorEventsAsync(IReadOnlyDictionary<string, string[]> filters, long? sinceUnixSeconds, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var client = await PinnedAsync(cancellationToken).ConfigureAwait(false);
        var channel = Channel.CreateUnbounded<DockerEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var parameters = new M.ContainerEventsParameters
        {
            Filters = EngineModelMapping.ToFilters(filters),
            Since = sinceUnixSeconds?.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // The progress runs on the reading thread, so events enter the channel in the engine's order.
        var monitor = PumpAsync();
        try
        {
            await foreach (var ev in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                yield return ev;
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            try { await monitor.ConfigureAwait(false); }
            catch (OperationCanceledException) { }
        }

        async Task PumpAsync()
        {
            try
            {
                await Map("events", null, () => client.System.MonitorEventsAsync(parameters,
                    new SyncProgress<M.Message>(m => channel.Writer.TryWrite(EngineModelMapping.ToEvent(m))), stop.Token), stop.Token).ConfigureAwait(false);
                channel.Writer.TryComplete();
            }
            catch (Exception e)
            {
                channel.Writer.TryComplete(e);
            }
        }
    }

    // ---------------------------------------------------------------- images

    public Task<IReadOnlyList<ImageSummary>> ListImagesAsync(CancellationToken cancellationToken = default) =>
        ReadAsync<IReadOnlyList<ImageSummary>>("images", null, static async (c, ct) =>
            (await c.Images.ListImagesAsync(new M.ImagesListParameters(), ct).ConfigureAwait(false))
                .Select(i => new ImageSummary { Id = i.ID, RepoTags = i.RepoTags?.ToList(), Size = i.Size, Created = new DateTimeOffset(i.Created).ToUnixTimeSeconds() }).ToList(), cancellationToken);

    /// <summary>Inspects an image; null when the engine does not have it.</summary>
    public Task<ImageInspect?> InspectImageAsync(string image, CancellationToken cancellationToken = default) =>
        ReadOrNullAsync("inspect-image", null, async (c, ct) =>
        {
            var i = await c.Images.InspectImageAsync(image, ct).ConfigureAwait(false);
            return new ImageInspect { Id = i.ID, RepoTags = i.RepoTags?.ToList(), Size = i.Size };
        }, cancellationToken);

    /// <summary>Imports a root filesystem tarball as <paramref name="repository"/>:<paramref name="tag"/>; returns the last status (the image id).</summary>
    public Task<string?> ImportImageAsync(Stream rootfsTar, string repository, string tag, IEnumerable<string> changes, CancellationToken cancellationToken = default)
    {
        var parameters = new M.ImagesCreateParameters { FromSrc = "-", Repo = repository, Tag = tag, Changes = changes.ToList() };
        return ProgressAsync("import-image", null, (c, progress, ct) => c.Images.CreateImageAsync(parameters, rootfsTar, null, progress, ct), cancellationToken);
    }

    /// <summary>
    /// Pulls an image; errors reported inside the 200 progress stream are thrown. <paramref name="credential"/> is sent
    /// as the pull's registry auth (it must be the image's own registry's: see <see cref="ImageReference.CredentialFor"/>).
    /// </summary>
    public Task PullImageAsync(string image, DockerRegistryCredential? credential, string? jobId, CancellationToken cancellationToken = default)
    {
        var (name, tag) = ImageReference.Split(image);
        var parameters = new M.ImagesCreateParameters { FromImage = name, Tag = tag };
        var auth = credential is null ? null : new M.AuthConfig
        {
            Username = credential.Username,
            Password = credential.Password,
            IdentityToken = credential.IdentityToken,
            ServerAddress = credential.Registry,
        };
        return ProgressAsync($"pull of '{image}'", jobId, (c, progress, ct) => c.Images.CreateImageAsync(parameters, auth, progress, ct), cancellationToken);
    }

    /// <summary>Runs a call reporting JSON progress; throws the first error reported in it; returns the last status.</summary>
    private async Task<string?> ProgressAsync(string operation, string? jobId, Func<IDockerClient, IProgress<M.JSONMessage>, CancellationToken, Task> call, CancellationToken cancellationToken)
    {
        string? last = null, error = null;
        var progress = new SyncProgress<M.JSONMessage>(m =>
        {
            if (m.Error?.Message is { Length: > 0 } e) error ??= e;
            last = m.Status ?? last;
        });
        await CallAsync(operation, jobId, async (c, ct) => { await call(c, progress, ct).ConfigureAwait(false); return true; }, cancellationToken, Timeout.InfiniteTimeSpan).ConfigureAwait(false);
        if (error is not null) throw DockerErrors.FromStream(error, Backend, Node, Endpoint.Display, operation, jobId);
        return last;
    }

    // ---------------------------------------------------------------- archives

    /// <summary>Extracts a tar stream into <paramref name="path"/> (an existing directory) of a container.</summary>
    public Task PutArchiveAsync(string id, string path, Stream tar, string? jobId, CancellationToken cancellationToken = default) =>
        CallAsync("stage-in", jobId, async (c, ct) =>
        {
            await c.Containers.ExtractArchiveToContainerAsync(id, new M.CopyToContainerParameters { Path = path, AllowOverwriteDirWithFile = false }, tar, ct).ConfigureAwait(false);
            return true;
        }, cancellationToken, Timeout.InfiniteTimeSpan);

    /// <summary>Opens a tar of <paramref name="path"/> in a container; null when the path (or container) does not exist. Dispose the stream.</summary>
    public async Task<Stream?> GetArchiveAsync(string id, string path, string? jobId, CancellationToken cancellationToken = default)
    {
        try
        {
            var response = await CallAsync("stage-out", jobId, (c, ct) => c.Containers.GetArchiveFromContainerAsync(id, new M.ContainerPathStatParameters { Path = path }, false, ct), cancellationToken).ConfigureAwait(false);
            return response.Stream;
        }
        catch (CompGridException e) when (e.Code == "docker-404")
        {
            return null;
        }
    }

    /// <summary>Stats a path in a container (HEAD archive); null when it does not exist.</summary>
    public Task<PathStat?> StatPathAsync(string id, string path, string? jobId, CancellationToken cancellationToken = default) =>
        ReadOrNullAsync("stat", jobId, async (c, ct) =>
        {
            var response = await c.Containers.GetArchiveFromContainerAsync(id, new M.ContainerPathStatParameters { Path = path }, true, ct).ConfigureAwait(false);
            response.Stream?.Dispose();
            var s = response.Stat;
            return s is null ? new PathStat() : new PathStat { Name = s.Name, Size = s.Size, Mode = s.Mode, LinkTarget = s.LinkTarget };
        }, cancellationToken);

    // ---------------------------------------------------------------- plumbing

    private async Task<DockerClient> PinnedAsync(CancellationToken cancellationToken)
    {
        await NegotiateAsync(cancellationToken).ConfigureAwait(false);
        return _pinned!;
    }

    private Task<T> ReadAsync<T>(string operation, string? jobId, Func<IDockerClient, CancellationToken, Task<T>> call, CancellationToken cancellationToken) =>
        _retry.ExecuteAsync(async ct => await CallAsync(operation, jobId, call, ct).ConfigureAwait(false), cancellationToken).AsTask();

    private async Task<T?> ReadOrNullAsync<T>(string operation, string? jobId, Func<IDockerClient, CancellationToken, Task<T?>> call, CancellationToken cancellationToken) where T : class
    {
        try
        {
            return await ReadAsync(operation, jobId, call, cancellationToken).ConfigureAwait(false);
        }
        catch (CompGridException e) when (e.Code == "docker-404")
        {
            return null;
        }
    }

    /// <summary>Runs one Engine API call within its timeout (the request timeout unless given), mapping its failures.</summary>
    private async Task<T> CallAsync<T>(string operation, string? jobId, Func<IDockerClient, CancellationToken, Task<T>> call, CancellationToken cancellationToken,
        TimeSpan? timeout = null, bool versioned = true)
    {
        var client = versioned ? await PinnedAsync(cancellationToken).ConfigureAwait(false) : _unversioned;
        var limit = timeout ?? _requestTimeout;
        using var timeoutCts = limit == Timeout.InfiniteTimeSpan ? new CancellationTokenSource() : new CancellationTokenSource(limit, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutCts.Token);
        using var activity = DockerTelemetry.Calls.StartCall(operation, Node);
        long started = _time.GetTimestamp();
        CompGridException? failure = null;
        try
        {
            return await Map(operation, jobId, () => call(client, linked.Token), cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeoutCts.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw failure = DockerErrors.Timeout(Backend, Node, Endpoint.Display, operation, jobId, limit);
        }
        catch (CompGridException ex)
        {
            failure = ex;
            throw;
        }
        finally
        {
            DockerTelemetry.Calls.Record(operation, Node, _time.GetElapsedTime(started), failure, activity);
        }
    }

    private Task Map(string operation, string? jobId, Func<Task> call, CancellationToken cancellationToken) =>
        Map(operation, jobId, async () => { await call().ConfigureAwait(false); return true; }, cancellationToken);

    /// <summary>Maps Docker.DotNet's failures: API errors by status, transport failures to <see cref="UnreachableCode"/>.</summary>
    private async Task<T> Map<T>(string operation, string? jobId, Func<Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (DockerApiException e)
        {
            throw DockerErrors.FromApi(e, Backend, Node, Endpoint.Display, operation, jobId);
        }
        catch (Exception e) when (DockerErrors.IsConnectionFailure(e) && !cancellationToken.IsCancellationRequested)
        {
            throw DockerErrors.Unreachable(Backend, Node, Endpoint.Display, operation, jobId, e);
        }
    }

    public void Dispose()
    {
        _pinned?.Dispose();
        _unversioned.Dispose();
        _negotiateGate.Dispose();
    }
}

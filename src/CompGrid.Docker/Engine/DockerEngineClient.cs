using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Polly;
using Polly.Retry;

namespace CompGrid.Docker.Engine;

/// <summary>
/// A small typed client of one Docker engine's HTTP API: unix socket or TCP(+TLS) transport, API version negotiation
/// (<c>/_ping</c> + <c>/version</c>, floor 1.40, every path prefixed with the negotiated version), error bodies mapped
/// to <see cref="CompGridException"/> with <see cref="CompGridException.IsTransient"/>, and idempotent reads retried
/// (Polly) on transient faults.
/// </summary>
internal sealed class DockerEngineClient : IDisposable
{
    /// <summary>The oldest Engine API CompGrid speaks (DeviceRequests arrived in 1.40).</summary>
    public const string MinimumApiVersion = "1.40";

    /// <summary>The error code of a connection failure (the engine is down or unreachable).</summary>
    public const string UnreachableCode = "engine-unreachable";

    private static readonly MediaTypeHeaderValue TarMediaType = new("application/x-tar");
    private static readonly MediaTypeHeaderValue JsonMediaType = new("application/json");

    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly TimeSpan _requestTimeout;
    private readonly string _maxApiVersion;
    private readonly ResiliencePipeline _retry;
    private readonly SemaphoreSlim _negotiateGate = new(1, 1);
    private string? _apiVersion;

    public DockerEngineClient(string backend, string node, DockerEndpoint endpoint, HttpMessageHandler handler, TimeProvider timeProvider, TimeSpan requestTimeout, string maxApiVersion)
    {
        Backend = backend;
        Node = node;
        Endpoint = endpoint;
        _time = timeProvider;
        _requestTimeout = requestTimeout;
        _maxApiVersion = maxApiVersion;
        _http = new HttpClient(handler, disposeHandler: true) { BaseAddress = endpoint.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
        _retry = new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<CompGridException>(e => e.IsTransient),
                MaxRetryAttempts = 2,
                Delay = TimeSpan.FromMilliseconds(150),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = false,
            })
            .Build();
    }

    /// <summary>The backend name (for errors).</summary>
    public string Backend { get; }

    /// <summary>The node name (for errors).</summary>
    public string Node { get; }

    /// <summary>Where the engine listens.</summary>
    public DockerEndpoint Endpoint { get; }

    /// <summary>The negotiated API version, once negotiated.</summary>
    public string? ApiVersion => _apiVersion;

    // ---------------------------------------------------------------- negotiation

    /// <summary>Negotiates the API version once: <c>min(client max, engine max)</c>, failing below 1.40 or below the engine's minimum.</summary>
    public async Task<string> NegotiateAsync(CancellationToken cancellationToken = default)
    {
        if (_apiVersion is { } known) return known;
        await _negotiateGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_apiVersion is { } again) return again;
            string? pingVersion = await CallAsync(HttpMethod.Get, "/_ping", "negotiate", null, null, versioned: false,
                static (r, _) => Task.FromResult(r.Headers.TryGetValues("Api-Version", out var v) ? v.FirstOrDefault() : null), cancellationToken).ConfigureAwait(false);
            var version = await CallAsync(HttpMethod.Get, "/version", "negotiate", null, null, versioned: false,
                static (r, ct) => ReadJsonAsync(r, DockerJsonContext.Default.VersionResponse, ct), cancellationToken).ConfigureAwait(false);
            _apiVersion = Negotiate(_maxApiVersion, version.ApiVersion ?? pingVersion, version.MinApiVersion, Node, Endpoint.Display);
            return _apiVersion;
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
            { Operation = "negotiate", Code = "docker-api-too-old" };
        if (engineMin is not null && chosen < ParseVersion(engineMin))
            throw new CompGridException($"Docker engine '{node}' ({endpoint}) requires Engine API {engineMin} or newer; CompGrid speaks up to {clientMax}.")
            { Operation = "negotiate", Code = "docker-api-too-new" };
        return $"{chosen.Major}.{chosen.Minor}";
    }

    internal static Version ParseVersion(string text) =>
        Version.TryParse(text.Trim(), out var v) ? v : throw new FormatException($"'{text}' is not an API version like 1.41.");

    // ---------------------------------------------------------------- system

    /// <summary>Pings the engine (unversioned <c>/_ping</c>), without retries; throws when unreachable.</summary>
    public Task PingAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        CallAsync(HttpMethod.Get, "/_ping", "ping", null, null, versioned: false, static (_, _) => Task.FromResult(true), cancellationToken, timeout: timeout);

    public Task<VersionResponse> GetVersionAsync(CancellationToken cancellationToken = default) =>
        ReadAsync("/version", "version", null, DockerJsonContext.Default.VersionResponse, cancellationToken);

    public Task<InfoResponse> GetInfoAsync(CancellationToken cancellationToken = default) =>
        ReadAsync("/info", "info", null, DockerJsonContext.Default.InfoResponse, cancellationToken);

    // ---------------------------------------------------------------- containers

    public Task<ContainerCreateResponse> CreateContainerAsync(string name, ContainerCreateRequest request, string? jobId, CancellationToken cancellationToken = default)
    {
        string body = DockerJson.Serialize(request);
        return CallAsync(HttpMethod.Post, "/containers/create" + Query(("name", name)), "create", jobId,
            () => new StringContent(body, Encoding.UTF8, JsonMediaType.MediaType!),
            versioned: true, static (r, ct) => ReadJsonAsync(r, DockerJsonContext.Default.ContainerCreateResponse, ct), cancellationToken);
    }

    /// <summary>Starts a container; true when started, false when it already was (304).</summary>
    public Task<bool> StartContainerAsync(string id, string? jobId, CancellationToken cancellationToken = default) =>
        CallAsync(HttpMethod.Post, $"/containers/{Escape(id)}/start", "start", jobId, null, versioned: true,
            static (r, _) => Task.FromResult(r.StatusCode != HttpStatusCode.NotModified), cancellationToken);

    /// <summary>Stops a container (SIGTERM, SIGKILL after <paramref name="grace"/>); false when it was not running (304).</summary>
    public Task<bool> StopContainerAsync(string id, TimeSpan grace, string? jobId, CancellationToken cancellationToken = default) =>
        CallAsync(HttpMethod.Post, $"/containers/{Escape(id)}/stop" + Query(("t", ((int)Math.Ceiling(grace.TotalSeconds)).ToString(CultureInfo.InvariantCulture))), "stop", jobId, null, versioned: true,
            static (r, _) => Task.FromResult(r.StatusCode != HttpStatusCode.NotModified), cancellationToken, timeout: _requestTimeout + grace);

    /// <summary>Sends a signal; false when the container is not running (409).</summary>
    public Task<bool> KillContainerAsync(string id, string signal, string? jobId, CancellationToken cancellationToken = default) =>
        CallAsync(HttpMethod.Post, $"/containers/{Escape(id)}/kill" + Query(("signal", signal)), "kill", jobId, null, versioned: true,
            static (r, _) => Task.FromResult(r.StatusCode != HttpStatusCode.Conflict), cancellationToken, accept: [HttpStatusCode.Conflict]);

    /// <summary>Removes a container (and its anonymous volumes with <paramref name="volumes"/>); false when it did not exist.</summary>
    public Task<bool> RemoveContainerAsync(string id, bool force, bool volumes, string? jobId, CancellationToken cancellationToken = default) =>
        CallAsync(HttpMethod.Delete, $"/containers/{Escape(id)}" + Query(("force", force ? "1" : "0"), ("v", volumes ? "1" : "0")), "remove", jobId, null, versioned: true,
            static (r, _) => Task.FromResult(r.StatusCode != HttpStatusCode.NotFound), cancellationToken, accept: [HttpStatusCode.NotFound]);

    /// <summary>Inspects a container by id or name; null when it does not exist.</summary>
    public Task<ContainerInspect?> InspectContainerAsync(string idOrName, string? jobId, CancellationToken cancellationToken = default) =>
        ReadOrNullAsync($"/containers/{Escape(idOrName)}/json", "inspect", jobId, DockerJsonContext.Default.ContainerInspect, cancellationToken);

    /// <summary>Lists containers carrying every label in <paramref name="labels"/> (<c>key=value</c>, or <c>key</c> for presence).</summary>
    public async Task<IReadOnlyList<ContainerSummary>> ListContainersAsync(IEnumerable<string> labels, bool all, CancellationToken cancellationToken = default)
    {
        string filters = DockerJson.Serialize(new Dictionary<string, string[]> { ["label"] = labels.ToArray() });
        return await ReadAsync("/containers/json" + Query(("all", all ? "1" : "0"), ("filters", filters)), "list", null,
            DockerJsonContext.Default.IReadOnlyListContainerSummary, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Waits until the container is not running; returns its exit code (no timeout).</summary>
    public async Task<WaitResponse> WaitContainerAsync(string id, string condition, string? jobId, CancellationToken cancellationToken = default)
    {
        using var response = await OpenAsync(HttpMethod.Post, $"/containers/{Escape(id)}/wait" + Query(("condition", condition)), "wait", jobId, null, cancellationToken).ConfigureAwait(false);
        return await ReadJsonAsync(response, DockerJsonContext.Default.WaitResponse, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads a container's logs so far (demultiplexed unless <paramref name="tty"/>).</summary>
    public async Task<JobLogs> GetLogsAsync(string id, bool tty, int maxBytes, string? jobId, CancellationToken cancellationToken = default)
    {
        using var response = await OpenAsync(HttpMethod.Get, $"/containers/{Escape(id)}/logs" + Query(("stdout", "1"), ("stderr", "1"), ("follow", "0")), "logs", jobId, null, cancellationToken).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            if (!tty) return await MultiplexedStreamReader.ReadLogsAsync(stream, maxBytes, cancellationToken).ConfigureAwait(false);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            string text = await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
            return new JobLogs { StandardOutput = text.Length > maxBytes ? text[..maxBytes] : text, Truncated = text.Length > maxBytes };
        }
    }

    /// <summary>Follows a container's logs (multiplexed frames) until it ends or <paramref name="cancellationToken"/> fires.</summary>
    public async IAsyncEnumerable<StreamFrame> FollowLogsAsync(string id, string? jobId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var response = await OpenAsync(HttpMethod.Get, $"/containers/{Escape(id)}/logs" + Query(("stdout", "1"), ("stderr", "1"), ("follow", "1")), "logs", jobId, null, cancellationToken).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            await foreach (var frame in MultiplexedStreamReader.ReadFramesAsync(stream, cancellationToken).ConfigureAwait(false))
                yield return frame;
        }
    }

    /// <summary>One stats sample (<c>stream=false&amp;one-shot=true</c>); null when the container does not exist.</summary>
    public Task<ContainerStats?> GetStatsAsync(string id, string? jobId, CancellationToken cancellationToken = default) =>
        ReadOrNullAsync($"/containers/{Escape(id)}/stats" + Query(("stream", "false"), ("one-shot", "true")), "stats", jobId, DockerJsonContext.Default.ContainerStats, cancellationToken);

    // ---------------------------------------------------------------- events

    /// <summary>Streams events matching <paramref name="filters"/> (JSON objects, one per line) until cancelled or the connection drops.</summary>
    public async IAsyncEnumerable<DockerEvent> MonitorEventsAsync(IReadOnlyDictionary<string, string[]> filters, long? sinceUnixSeconds, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string query = Query(("filters", DockerJson.Serialize(new Dictionary<string, string[]>(filters))),
            ("since", sinceUnixSeconds?.ToString(CultureInfo.InvariantCulture)));
        using var response = await OpenAsync(HttpMethod.Get, "/events" + query, "events", null, null, cancellationToken).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            await foreach (var ev in ReadJsonLinesAsync(stream, DockerJsonContext.Default.DockerEvent, cancellationToken).ConfigureAwait(false))
                yield return ev;
        }
    }

    // ---------------------------------------------------------------- images

    public Task<IReadOnlyList<ImageSummary>> ListImagesAsync(CancellationToken cancellationToken = default) =>
        ReadAsync("/images/json", "images", null, DockerJsonContext.Default.IReadOnlyListImageSummary, cancellationToken);

    /// <summary>Inspects an image; null when the engine does not have it.</summary>
    public Task<ImageInspect?> InspectImageAsync(string image, CancellationToken cancellationToken = default) =>
        ReadOrNullAsync($"/images/{EscapePath(image)}/json", "inspect-image", null, DockerJsonContext.Default.ImageInspect, cancellationToken);

    /// <summary>Imports a root filesystem tarball as <paramref name="repository"/>:<paramref name="tag"/>; returns the last status (the image id).</summary>
    public async Task<string?> ImportImageAsync(Stream rootfsTar, string repository, string tag, IEnumerable<string> changes, CancellationToken cancellationToken = default)
    {
        var query = new List<(string, string?)> { ("fromSrc", "-"), ("repo", repository), ("tag", tag) };
        query.AddRange(changes.Select(c => ("changes", (string?)c)));
        using var response = await OpenAsync(HttpMethod.Post, "/images/create" + Query([.. query]), "import-image", null,
            () => new StreamContent(rootfsTar) { Headers = { ContentType = TarMediaType } }, cancellationToken).ConfigureAwait(false);
        return await ReadProgressAsync(response, "import-image", null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Pulls an image; errors reported inside the 200 progress stream (<c>errorDetail</c>) are thrown.</summary>
    public async Task PullImageAsync(string image, DockerRegistryCredential? credential, string? jobId, CancellationToken cancellationToken = default)
    {
        var (name, tag) = SplitImage(image);
        string? registryAuth = credential is null ? null : Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string>
        {
            ["username"] = credential.Username ?? "", ["password"] = credential.Password ?? "", ["identitytoken"] = credential.IdentityToken ?? "", ["serveraddress"] = credential.Registry,
        }, DockerJsonContext.Default.DictionaryStringString)).Replace('+', '-').Replace('/', '_');
        var headers = registryAuth is null ? null : new Dictionary<string, string> { ["X-Registry-Auth"] = registryAuth };
        using var response = await OpenAsync(HttpMethod.Post, "/images/create" + Query(("fromImage", name), ("tag", tag)), $"pull of '{image}'", jobId, null, cancellationToken, headers).ConfigureAwait(false);
        await ReadProgressAsync(response, $"pull of '{image}'", jobId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Splits <c>repo[:tag|@digest]</c> into name and tag (default <c>latest</c>), keeping registry ports intact.</summary>
    internal static (string Name, string Tag) SplitImage(string image)
    {
        int at = image.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0) return (image[..at], image[(at + 1)..]);
        int slash = image.LastIndexOf('/');
        int colon = image.LastIndexOf(':');
        return colon > slash ? (image[..colon], image[(colon + 1)..]) : (image, "latest");
    }

    /// <summary>Reads a progress stream to its end; throws the first <c>errorDetail</c>/<c>error</c>; returns the last status.</summary>
    internal async Task<string?> ReadProgressAsync(HttpResponseMessage response, string operation, string? jobId, CancellationToken cancellationToken)
    {
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            string? last = null;
            await foreach (var message in ReadJsonLinesAsync(stream, DockerJsonContext.Default.ProgressMessage, cancellationToken).ConfigureAwait(false))
            {
                string? error = message.ErrorDetail?.Message ?? message.Error;
                if (error is not null)
                {
                    bool transient = error.Contains("timeout", StringComparison.OrdinalIgnoreCase) || error.Contains("TLS handshake", StringComparison.OrdinalIgnoreCase)
                        || error.Contains("too many requests", StringComparison.OrdinalIgnoreCase) || error.Contains("connection reset", StringComparison.OrdinalIgnoreCase);
                    throw new CompGridException($"Docker engine '{Node}' ({Endpoint.Display}): {operation} failed: {error}")
                    { Backend = Backend, Operation = operation.Split(' ')[0], JobId = jobId, IsTransient = transient, Code = "docker-stream-error" };
                }
                last = message.Status ?? last;
            }
            return last;
        }
    }

    // ---------------------------------------------------------------- archives

    /// <summary>Extracts a tar stream into <paramref name="path"/> (an existing directory) of a container.</summary>
    public Task PutArchiveAsync(string id, string path, Func<HttpContent> tar, string? jobId, CancellationToken cancellationToken = default) =>
        CallAsync(HttpMethod.Put, $"/containers/{Escape(id)}/archive" + Query(("path", path), ("noOverwriteDirNonDir", "true")), "stage-in", jobId, tar, versioned: true,
            static (_, _) => Task.FromResult(true), cancellationToken, timeout: Timeout.InfiniteTimeSpan);

    /// <summary>Opens a tar of <paramref name="path"/> in a container; null when the path (or container) does not exist. Dispose the response.</summary>
    public async Task<HttpResponseMessage?> GetArchiveAsync(string id, string path, string? jobId, CancellationToken cancellationToken = default)
    {
        try
        {
            return await OpenAsync(HttpMethod.Get, $"/containers/{Escape(id)}/archive" + Query(("path", path)), "stage-out", jobId, null, cancellationToken).ConfigureAwait(false);
        }
        catch (CompGridException e) when (e.Code == "docker-404")
        {
            return null;
        }
    }

    /// <summary>Stats a path in a container (HEAD archive); null when it does not exist.</summary>
    public Task<PathStat?> StatPathAsync(string id, string path, string? jobId, CancellationToken cancellationToken = default) =>
        CallAsync(HttpMethod.Head, $"/containers/{Escape(id)}/archive" + Query(("path", path)), "stat", jobId, null, versioned: true,
            static (r, _) =>
            {
                if (r.StatusCode == HttpStatusCode.NotFound) return Task.FromResult<PathStat?>(null);
                if (!r.Headers.TryGetValues("X-Docker-Container-Path-Stat", out var values)) return Task.FromResult<PathStat?>(new PathStat());
                byte[] json = Convert.FromBase64String(values.First());
                return Task.FromResult(JsonSerializer.Deserialize(json, DockerJsonContext.Default.PathStat));
            }, cancellationToken, accept: [HttpStatusCode.NotFound]);

    // ---------------------------------------------------------------- plumbing

    private Task<T> ReadAsync<T>(string path, string operation, string? jobId, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, CancellationToken cancellationToken) =>
        _retry.ExecuteAsync(async ct => await CallAsync(HttpMethod.Get, path, operation, jobId, null, versioned: true,
            (r, c) => ReadJsonAsync(r, type, c), ct).ConfigureAwait(false), cancellationToken).AsTask();

    private Task<T?> ReadOrNullAsync<T>(string path, string operation, string? jobId, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, CancellationToken cancellationToken) where T : class =>
        _retry.ExecuteAsync(async ct => await CallAsync(HttpMethod.Get, path, operation, jobId, null, versioned: true,
            async (r, c) => r.StatusCode == HttpStatusCode.NotFound ? null : await ReadJsonAsync(r, type, c).ConfigureAwait(false), ct, accept: [HttpStatusCode.NotFound]).ConfigureAwait(false),
            cancellationToken).AsTask();

    /// <summary>Sends one request and reads its response within the request timeout; non-success statuses throw unless accepted.</summary>
    private async Task<T> CallAsync<T>(HttpMethod method, string path, string operation, string? jobId, Func<HttpContent>? content, bool versioned,
        Func<HttpResponseMessage, CancellationToken, Task<T>> read, CancellationToken cancellationToken, TimeSpan? timeout = null, HttpStatusCode[]? accept = null)
    {
        string uri = versioned ? $"v{await NegotiateAsync(cancellationToken).ConfigureAwait(false)}{path}" : path.TrimStart('/');
        var limit = timeout ?? _requestTimeout;
        using var timeoutCts = limit == Timeout.InfiniteTimeSpan ? new CancellationTokenSource() : new CancellationTokenSource(limit, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutCts.Token);
        try
        {
            using var request = new HttpRequestMessage(method, uri) { Content = content?.Invoke() };
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode && response.StatusCode != HttpStatusCode.NotModified && (accept is null || Array.IndexOf(accept, response.StatusCode) < 0))
                throw await ToExceptionAsync(response, operation, jobId, linked.Token).ConfigureAwait(false);
            return await read(response, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeoutCts.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new CompGridException($"Docker engine '{Node}' ({Endpoint.Display}): {operation} timed out after {limit}.")
            { Backend = Backend, Operation = operation, JobId = jobId, IsTransient = true, Code = "engine-timeout" };
        }
        catch (Exception e) when (IsConnectionFailure(e) && !cancellationToken.IsCancellationRequested)
        {
            throw Unreachable(operation, jobId, e);
        }
    }

    /// <summary>Sends a request for a streaming endpoint: the timeout covers only the response headers. Dispose the response.</summary>
    private async Task<HttpResponseMessage> OpenAsync(HttpMethod method, string path, string operation, string? jobId, Func<HttpContent>? content, CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string>? headers = null)
    {
        string uri = $"v{await NegotiateAsync(cancellationToken).ConfigureAwait(false)}{path}";
        using var timeoutCts = new CancellationTokenSource(_requestTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutCts.Token);
        HttpResponseMessage? response = null;
        try
        {
            using var request = new HttpRequestMessage(method, uri) { Content = content?.Invoke() };
            foreach (var (k, v) in headers ?? new Dictionary<string, string>()) request.Headers.TryAddWithoutValidation(k, v);
            // The linked token only bounds the wait for headers; the body is read with the caller's token.
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, content is null ? linked.Token : cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
                throw await ToExceptionAsync(response, operation, jobId, linked.Token).ConfigureAwait(false);
            var ok = response;
            response = null;
            return ok;
        }
        catch (OperationCanceledException) when (timeoutCts.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new CompGridException($"Docker engine '{Node}' ({Endpoint.Display}): {operation} timed out after {_requestTimeout}.")
            { Backend = Backend, Operation = operation, JobId = jobId, IsTransient = true, Code = "engine-timeout" };
        }
        catch (Exception e) when (IsConnectionFailure(e) && !cancellationToken.IsCancellationRequested)
        {
            throw Unreachable(operation, jobId, e);
        }
        finally
        {
            response?.Dispose();
        }
    }

    private CompGridException Unreachable(string operation, string? jobId, Exception cause) =>
        new($"Docker engine '{Node}' ({Endpoint.Display}) is unreachable: {Innermost(cause).Message}", cause)
        { Backend = Backend, Operation = operation, JobId = jobId, IsTransient = true, Code = UnreachableCode };

    internal static bool IsConnectionFailure(Exception e) => e is HttpRequestException or SocketException or IOException;

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }

    /// <summary>Maps an error response (JSON <c>{"message": …}</c>) to a <see cref="CompGridException"/>.</summary>
    internal async Task<CompGridException> ToExceptionAsync(HttpResponseMessage response, string operation, string? jobId, CancellationToken cancellationToken)
    {
        string body = "";
        try { body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false); }
        catch (Exception e) when (IsConnectionFailure(e)) { }
        return ToException((int)response.StatusCode, body, Backend, Node, Endpoint.Display, operation, jobId);
    }

    internal static CompGridException ToException(int status, string body, string backend, string node, string endpoint, string operation, string? jobId)
    {
        string message = body.Trim();
        try
        {
            if (message.StartsWith('{') && JsonSerializer.Deserialize(message, DockerJsonContext.Default.ErrorResponse)?.Message is { } m) message = m;
        }
        catch (JsonException) { }
        if (message.Length == 0) message = "(no message)";
        bool transient = status is 408 or 429 or 502 or 503 or 504
            || (status == 500 && (message.Contains("timeout", StringComparison.OrdinalIgnoreCase) || message.Contains("temporar", StringComparison.OrdinalIgnoreCase)
                                  || message.Contains("connection refused", StringComparison.OrdinalIgnoreCase)));
        return new CompGridException($"Docker engine '{node}' ({endpoint}): {operation} failed with HTTP {status}: {message}")
        { Backend = backend, Operation = operation.Split(' ')[0], JobId = jobId, IsTransient = transient, Code = "docker-" + status.ToString(CultureInfo.InvariantCulture) };
    }

    internal static async Task<T> ReadJsonAsync<T>(HttpResponseMessage response, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            return await JsonSerializer.DeserializeAsync(stream, type, cancellationToken).ConfigureAwait(false)
                   ?? throw new CompGridException("The Docker engine returned an empty JSON body.") { Operation = "read" };
        }
    }

    /// <summary>Reads newline-delimited JSON (also tolerating RFC 7464 record separators and blank lines).</summary>
    internal static async IAsyncEnumerable<T> ReadJsonLinesAsync<T>(Stream stream, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, leaveOpen: true);
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            line = line.Trim('\u001e', ' ', '\r', '\t');
            if (line.Length == 0) continue;
            var value = JsonSerializer.Deserialize(line, type);
            if (value is not null) yield return value;
        }
    }

    internal static string Query(params (string Key, string? Value)[] pairs)
    {
        var sb = new StringBuilder();
        foreach (var (key, value) in pairs)
        {
            if (value is null) continue;
            sb.Append(sb.Length == 0 ? '?' : '&').Append(Uri.EscapeDataString(key)).Append('=').Append(Uri.EscapeDataString(value));
        }
        return sb.ToString();
    }

    private static string Escape(string segment) => Uri.EscapeDataString(segment);

    private static string EscapePath(string path) => string.Join('/', path.Split('/').Select(Uri.EscapeDataString));

    public void Dispose()
    {
        _http.Dispose();
        _negotiateGate.Dispose();
    }
}

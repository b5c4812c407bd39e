using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using CompGrid.Slurm.Mapping;

namespace CompGrid.Slurm.Rest;

/// <summary>
/// The slurmrestd transport: JWT headers (<c>X-SLURM-USER-NAME</c> + <c>X-SLURM-USER-TOKEN</c>, renewed before expiry),
/// API version discovery, error mapping. Version-specific shapes live in an <see cref="ISlurmRestDialect"/>.
/// </summary>
internal sealed partial class SlurmRestClient : ISlurmClient
{
    private readonly SlurmBackendOptions _options;
    private readonly string _backend;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly JwtTokenSource _tokens;
    private readonly Func<string, string, int, CancellationToken, Task<(string Text, bool Truncated)?>> _readFile;
    private readonly IAsyncDisposable? _fileReaderOwner;
    private readonly SemaphoreSlim _discoveryLock = new(1, 1);
    private ISlurmRestDialect? _dialect;

    public SlurmRestClient(SlurmBackendOptions options, string backend, TimeProvider time, HttpClient? httpClient,
        Func<string, string, int, CancellationToken, Task<(string Text, bool Truncated)?>> readFile, IAsyncDisposable? fileReaderOwner)
    {
        _options = options;
        _backend = backend;
        _ownsHttp = httpClient is null;
        _http = httpClient ?? new HttpClient(new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(10),
        })
        { Timeout = Timeout.InfiniteTimeSpan };
        _tokens = new JwtTokenSource(options, time, backend);
        _readFile = readFile;
        _fileReaderOwner = fileReaderOwner;
    }

    /// <summary>The API version in use (after discovery), for diagnostics.</summary>
    public string? ApiVersion => _dialect?.Version;

    public async Task<string> SubmitAsync(SlurmJobDefinition job, CancellationToken cancellationToken)
    {
        // Last line of defence (the mapper refuses it first): never ask slurmrestd to run a job as root.
        if (job.User is { } actAs && SlurmJobMapper.IsRootUser(actAs))
            throw new CompGridForbiddenException($"Job {job.CompGridJobId} would be submitted as '{actAs}'; jobs are never submitted as root.")
            { Backend = _backend, Operation = "submit", JobId = job.CompGridJobId, Code = CompGridErrorCodes.SubmitAsRoot };
        var d = await DialectAsync(cancellationToken).ConfigureAwait(false);
        string body = d.BuildSubmitBody(job).ToJsonString();
        using var r = await SendAsync(HttpMethod.Post, d.SubmitPath, body, job.User, "submit", job.CompGridJobId, cancellationToken).ConfigureAwait(false);
        ThrowIfFailed(r, "submit", job.CompGridJobId);
        return d.ParseSubmittedJobId(r.Root) ?? throw new CompGridException("slurmrestd accepted the job but returned no job_id.")
        { Backend = _backend, Operation = "submit", JobId = job.CompGridJobId, Code = CompGridErrorCodes.UnexpectedOutput };
    }

    public async Task<SlurmJobInfo?> GetJobAsync(string jobId, CancellationToken cancellationToken)
    {
        var d = await DialectAsync(cancellationToken).ConfigureAwait(false);
        using var r = await SendAsync(HttpMethod.Get, d.JobPath(jobId), null, null, "status", null, cancellationToken).ConfigureAwait(false);
        if (!r.Ok && d.IsNotFound(r.Status, r.Errors)) return null;
        ThrowIfFailed(r, "status", null);
        return d.ParseJobs(r.Root).FirstOrDefault(j => j.JobId == jobId);
    }

    public async Task<IReadOnlyList<SlurmJobInfo>> ListJobsAsync(CancellationToken cancellationToken)
    {
        var d = await DialectAsync(cancellationToken).ConfigureAwait(false);
        using var r = await SendAsync(HttpMethod.Get, d.JobsPath, null, null, "list", null, cancellationToken).ConfigureAwait(false);
        ThrowIfFailed(r, "list", null);
        return d.ParseJobs(r.Root);
    }

    public async Task CancelAsync(string jobId, CancellationToken cancellationToken)
    {
        var d = await DialectAsync(cancellationToken).ConfigureAwait(false);
        // No signal: slurmctld kills the whole job (SIGKILL after KillWait) and records CANCELLED. "?signal=SIGTERM" only signals.
        using var r = await SendAsync(HttpMethod.Delete, d.JobPath(jobId), null, null, "cancel", null, cancellationToken).ConfigureAwait(false);
        if (!r.Ok && d.IsNotFound(r.Status, r.Errors)) throw new JobNotFoundException(jobId) { Backend = _backend, Operation = "cancel" };
        if (!r.Ok && r.Errors.Any(e => SlurmErrors.IsAlreadyEnded(e.ToString()))) return;
        ThrowIfFailed(r, "cancel", null);
        // v0.0.42 answers 200 and reports each job's outcome in the body.
        var outcome = d.ParseCancelErrors(r.Root);
        if (outcome.Count == 0 || outcome.All(e => SlurmErrors.IsAlreadyEnded(e.ToString()))) return;
        if (d.IsNotFound(r.Status, outcome)) throw new JobNotFoundException(jobId) { Backend = _backend, Operation = "cancel" };
        string detail = string.Join("; ", outcome);
        throw SlurmErrors.Classify(detail, _backend, "cancel", null, "slurmrestd cancel failed: " + detail, outcome[0].Number);
    }

    public async Task<IReadOnlyList<NodeInfo>> GetNodesAsync(string backendName, CancellationToken cancellationToken)
    {
        var d = await DialectAsync(cancellationToken).ConfigureAwait(false);
        using var r = await SendAsync(HttpMethod.Get, d.NodesPath, null, null, "nodes", null, cancellationToken).ConfigureAwait(false);
        ThrowIfFailed(r, "nodes", null);
        return d.ParseNodes(r.Root, backendName);
    }

    public async Task<SlurmAccountingRecord?> GetAccountingAsync(string jobId, CancellationToken cancellationToken)
    {
        var d = await DialectAsync(cancellationToken).ConfigureAwait(false);
        using var r = await SendAsync(HttpMethod.Get, d.AccountingJobPath(jobId), null, null, "accounting", null, cancellationToken).ConfigureAwait(false);
        if (!r.Ok && d.IsNotFound(r.Status, r.Errors)) return null;
        ThrowIfFailed(r, "accounting", null);
        return d.ParseAccounting(r.Root, jobId);
    }

    public Task<(string Text, bool Truncated)?> ReadLogTailAsync(string directory, string fileName, int maxBytes, CancellationToken cancellationToken) =>
        _readFile(directory, fileName, maxBytes, cancellationToken);

    /// <summary>Finds the API version to speak: the configured one, or the newest the server lists in <c>/openapi/v3</c> that this package supports.</summary>
    internal async Task<ISlurmRestDialect> DialectAsync(CancellationToken cancellationToken)
    {
        if (_dialect is { } known) return known;
        await _discoveryLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_dialect is { } again) return again;
            if (_options.RestApiVersion is { Length: > 0 } pinned)
            {
                _dialect = SlurmRestDialects.Find(pinned) ?? throw new CompGridException(
                    $"REST API version '{pinned}' is not supported; supported: {string.Join(", ", SlurmRestDialects.Supported.Select(s => s.Version))}.")
                { Backend = _backend, Operation = "connect", Code = CompGridErrorCodes.UnsupportedVersion };
                return _dialect;
            }
            var served = new List<string>();
            using (var r = await SendAsync(HttpMethod.Get, "/openapi/v3", null, null, "connect", null, cancellationToken).ConfigureAwait(false))
            {
                if (r.Ok && r.Root.Prop("paths") is { ValueKind: JsonValueKind.Object } paths)
                {
                    foreach (var p in paths.EnumerateObject())
                        if (VersionRegex().Match(p.Name) is { Success: true } m && !served.Contains(m.Groups[1].Value)) served.Add(m.Groups[1].Value);
                }
            }
            var chosen = SlurmRestDialects.Supported.FirstOrDefault(s => served.Contains(s.Version));
            if (chosen is null)
            {
                // No usable spec: probe each supported version's ping.
                foreach (var candidate in SlurmRestDialects.Supported)
                {
                    using var ping = await SendAsync(HttpMethod.Get, candidate.PingPath, null, null, "connect", null, cancellationToken).ConfigureAwait(false);
                    if (ping.Ok) { chosen = candidate; break; }
                }
            }
            _dialect = chosen ?? throw new CompGridException(
                $"slurmrestd at {_options.RestUrl} serves [{string.Join(", ", served)}]; this package speaks {string.Join(", ", SlurmRestDialects.Supported.Select(s => s.Version))}.")
            { Backend = _backend, Operation = "connect", Code = CompGridErrorCodes.UnsupportedVersion };
            return _dialect;
        }
        finally
        {
            _discoveryLock.Release();
        }
    }

    private async Task<RestResponse> SendAsync(HttpMethod method, string path, string? jsonBody, string? actAs, string operation, string? jobId,
        CancellationToken cancellationToken)
    {
        bool refreshed = false;
        while (true)
        {
            string token = await _tokens.GetTokenAsync(refreshed, cancellationToken).ConfigureAwait(false);
            using var request = new HttpRequestMessage(method, new Uri(_options.RestUrl!, path));
            request.Headers.Add("X-SLURM-USER-NAME", actAs ?? _tokens.UserName);
            request.Headers.Add("X-SLURM-USER-TOKEN", token);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            if (jsonBody is not null)
            {
                // slurmrestd 22.05 rejects "application/json; charset=utf-8" ("Unable to parse query"): no charset parameter.
                request.Content = new StringContent(jsonBody, Encoding.UTF8);
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.RequestTimeout);
            HttpResponseMessage response;
            string text;
            try
            {
                response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
                text = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (HttpRequestException ex)
            {
                throw new CompGridException($"Cannot reach slurmrestd at {_options.RestUrl}: {ex.Message}", ex)
                { Backend = _backend, Operation = operation, JobId = jobId, IsTransient = true, Code = CompGridErrorCodes.Unavailable };
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw new CompGridException($"slurmrestd at {_options.RestUrl} did not answer {method} {path} within {_options.RequestTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s.", ex)
                { Backend = _backend, Operation = operation, JobId = jobId, IsTransient = true, Code = CompGridErrorCodes.Timeout };
            }

            using (response)
            {
                int status = (int)response.StatusCode;
                JsonDocument? doc = null;
                if (text.Length > 0 && (text[0] == '{' || text[0] == '['))
                {
                    try { doc = JsonDocument.Parse(text); }
                    catch (JsonException) { doc = null; }
                }
                var errors = doc is null ? [] : RestError.Parse(doc.RootElement);
                // An expired or rejected token: 401, (22.05) 500 from slurm_load_ctl_conf, or (24.11) 511 with
                // 1007 "Protocol authentication error". Renew once and retry.
                bool authProblem = IsAuthProblem(status, errors);
                if (authProblem && !refreshed && (_options.JwtKeyFile is not null || _options.TokenFile is not null))
                {
                    doc?.Dispose();
                    refreshed = true;
                    continue;
                }
                if (status is 401 or 511)
                {
                    doc?.Dispose();
                    throw new CompGridException($"slurmrestd rejected the credentials of '{actAs ?? _tokens.UserName}' (HTTP {status.ToString(CultureInfo.InvariantCulture)}): check the token and user name.")
                    { Backend = _backend, Operation = operation, JobId = jobId, Code = CompGridErrorCodes.Unauthorized };
                }
                return new RestResponse(status, doc, errors, text);
            }
        }
    }

    private static bool IsAuthProblem(int status, IReadOnlyList<RestError> errors) =>
        status is 401 or 511 ||
        (status == 500 && errors.Any(e => e.Source == "slurm_load_ctl_conf")) ||
        errors.Any(e => e.Number == 1007);

    private void ThrowIfFailed(RestResponse r, string operation, string? jobId)
    {
        if (r.Ok) return;
        string detail = r.Errors.Count > 0 ? string.Join("; ", r.Errors) : (r.Text.Length > 300 ? r.Text[..300] : r.Text);
        string message = $"slurmrestd {operation} failed (HTTP {r.Status.ToString(CultureInfo.InvariantCulture)}): {detail}";
        // 22.05 reports an unreachable slurmctld/slurmdbd as HTTP 500 with error_number -1 ("Unspecified error") from
        // slurm_load_job(s), slurm_load_ctl_conf, nodes: transient (the controller may be restarting).
        bool unreachable = r.Status == 500 && r.Errors.Count > 0 && r.Errors.All(e => e.Number == -1);
        if (r.Status is 502 or 503 or 504 || unreachable)
            throw new CompGridException(message) { Backend = _backend, Operation = operation, JobId = jobId, IsTransient = true, Code = CompGridErrorCodes.Unavailable };
        if (r.Status == 404 && r.Errors.Count == 0)
            throw new CompGridException(message + $" (is API {_dialect?.Version} served?)") { Backend = _backend, Operation = operation, JobId = jobId, Code = CompGridErrorCodes.UnsupportedVersion };
        throw SlurmErrors.Classify(detail, _backend, operation, jobId, message, r.Errors.FirstOrDefault()?.Number);
    }

    public async ValueTask DisposeAsync()
    {
        if (_ownsHttp) _http.Dispose();
        _discoveryLock.Dispose();
        if (_fileReaderOwner is not null) await _fileReaderOwner.DisposeAsync().ConfigureAwait(false);
    }

    [GeneratedRegex("^/slurm/(v\\d+\\.\\d+\\.\\d+)/", RegexOptions.CultureInvariant)]
    private static partial Regex VersionRegex();

    private sealed class RestResponse(int status, JsonDocument? doc, IReadOnlyList<RestError> errors, string text) : IDisposable
    {
        private static readonly JsonDocument Empty = JsonDocument.Parse("{}");
        public int Status { get; } = status;
        public IReadOnlyList<RestError> Errors { get; } = errors;
        public string Text { get; } = text;
        public JsonElement Root => (doc ?? Empty).RootElement;
        public bool Ok => Status is >= 200 and < 300 && Errors.Count == 0 && doc is not null;
        public void Dispose() => doc?.Dispose();
    }
}

using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Polly.Timeout;

namespace CompGrid.Client;

/// <summary>
/// A CompGrid portal reached over HTTP (the sample host's API, or any portal that maps the same endpoints). Implements
/// <see cref="ICompGridClient"/>, so code written against the in-process engine runs unchanged against a portal, and adds
/// the portal's other calls: grants, quotes, statements, simulations, log following. Errors arrive as the exceptions the
/// engine throws (<see cref="JobValidationException"/> naming <see cref="JobSpec"/> fields, <see cref="JobPolicyException"/>,
/// <see cref="CompGridForbiddenException"/>, <see cref="JobRejectedException"/>, …), built from the portal's problem details.
/// Create one with <see cref="CompGridClient.Create"/> or <c>services.AddCompGridClient(…)</c>; it is thread-safe.
/// </summary>
/// <remarks>
/// The portal acts as the token's user: <see cref="JobSpec.Owner"/> may be empty or that user's name, the
/// <c>actor</c> of <see cref="CancelAsync"/> and the <c>approver</c> of <see cref="ApproveAsync"/>/<see cref="RejectAsync"/>
/// are the token's user whatever is passed. The portal sends logs as one text, so <see cref="JobLogs.StandardOutput"/>
/// holds standard output followed by standard error and <see cref="JobLogs.StandardError"/> is empty.
/// </remarks>
public sealed class CompGridHttpClient : ICompGridClient, IDisposable
{
    /// <summary>The largest page the portal returns for <c>GET /api/jobs</c>.</summary>
    public const int MaxListLimit = 10_000;

    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly CompGridClientOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private CallerInfo? _me;

    internal CompGridHttpClient(HttpClient http, bool ownsHttp, CompGridClientOptions options, TimeProvider time, ILogger logger)
    {
        _http = http;
        _ownsHttp = ownsHttp;
        _options = options;
        _time = time;
        _logger = logger;
        _http.BaseAddress ??= options.BaseAddress!.AbsoluteUri.EndsWith('/') ? options.BaseAddress : new Uri(options.BaseAddress!.AbsoluteUri + "/");
        _http.Timeout = Timeout.InfiniteTimeSpan;   // the resilience pipeline times each attempt
    }

    /// <summary>The portal's address.</summary>
    public Uri BaseAddress => _http.BaseAddress!;

    /// <inheritdoc/>
    public async Task<JobHandle> SubmitAsync(JobSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var body = JobRequestBody.From(spec);
        if (spec.Owner.Length > 0)
        {
            var me = await GetCallerAsync(cancellationToken).ConfigureAwait(false);
            if (!string.Equals(me.Name, spec.Owner, StringComparison.Ordinal))
                throw new JobValidationException("owner", $"must be empty or '{me.Name}': the portal submits as the token's user") { Operation = "submit" };
        }
        var job = await SendAsync<JobRecord>(HttpMethod.Post, "api/jobs", body, "submit", null, cancellationToken).ConfigureAwait(false);
        Log.Submitted(_logger, job.Id, BaseAddress);
        return new JobHandle(this, job.Id);
    }

    /// <inheritdoc/>
    public async Task<JobRecord?> GetJobAsync(string jobId, CancellationToken cancellationToken = default)
    {
        try { return await SendAsync<JobRecord>(HttpMethod.Get, JobPath(jobId), null, "get", jobId, cancellationToken).ConfigureAwait(false); }
        catch (JobNotFoundException) { return null; }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Filters by state, owner (administrators), account, backend and submission time on the portal. A non-administrator
    /// sees only their own jobs. <see cref="JobQuery.Limit"/> is capped at <see cref="MaxListLimit"/>.
    /// </remarks>
    public async IAsyncEnumerable<JobRecord> ListJobsAsync(JobQuery? query = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        query ??= new JobQuery();
        if (query.Limit < 1) throw new JobValidationException("limit", "must be at least 1") { Operation = "list" };
        var q = new List<string> { "limit=" + Math.Min(query.Limit, MaxListLimit).ToString(CultureInfo.InvariantCulture) };
        if (query.States.Count > 0) q.Add("state=" + string.Join(',', query.States));
        if (query.Owner is { } owner) q.Add("owner=" + Uri.EscapeDataString(owner));
        if (query.Account is { } account) q.Add("account=" + Uri.EscapeDataString(account));
        if (query.Backend is { } backend) q.Add("backend=" + Uri.EscapeDataString(backend));
        if (query.SubmittedAfter is { } after) q.Add("submittedAfter=" + Uri.EscapeDataString(after.ToString("O", CultureInfo.InvariantCulture)));
        if (query.SubmittedBefore is { } before) q.Add("submittedBefore=" + Uri.EscapeDataString(before.ToString("O", CultureInfo.InvariantCulture)));
        var jobs = await SendAsync<List<JobRecord>>(HttpMethod.Get, "api/jobs?" + string.Join('&', q), null, "list", null, cancellationToken).ConfigureAwait(false);
        foreach (var job in jobs) yield return job;
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<JobTransition>> GetHistoryAsync(string jobId, CancellationToken cancellationToken = default) =>
        await SendAsync<List<JobTransition>>(HttpMethod.Get, JobPath(jobId) + "/history", null, "history", jobId, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc/>
    public Task<JobRecord> CancelAsync(string jobId, string? actor = null, CancellationToken cancellationToken = default) =>
        SendAsync<JobRecord>(HttpMethod.Post, JobPath(jobId) + "/cancel", null, "cancel", jobId, cancellationToken);

    /// <inheritdoc/>
    public Task<JobRecord> ApproveAsync(string jobId, string approver, string? reason = null, CancellationToken cancellationToken = default) =>
        SendAsync<JobRecord>(HttpMethod.Post, JobPath(jobId) + "/approve", new Dictionary<string, string?> { ["reason"] = reason }, "approve", jobId, cancellationToken);

    /// <inheritdoc/>
    public Task<JobRecord> RejectAsync(string jobId, string approver, string reason, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(reason)) throw new JobValidationException("reason", "is required when rejecting a job") { Operation = "reject", JobId = jobId };
        return SendAsync<JobRecord>(HttpMethod.Post, JobPath(jobId) + "/reject", new Dictionary<string, string?> { ["reason"] = reason }, "reject", jobId, cancellationToken);
    }

    /// <inheritdoc/>
    /// <remarks>Polls every <see cref="CompGridClientOptions.PollInterval"/> on the client's <see cref="TimeProvider"/>.</remarks>
    public async Task<JobRecord> WaitForCompletionAsync(string jobId, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var job = await GetJobAsync(jobId, cancellationToken).ConfigureAwait(false) ?? throw new JobNotFoundException(jobId) { Operation = "wait" };
            if (job.IsTerminal) return job;
            await Task.Delay(_options.PollInterval, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async Task<JobLogs> GetLogsAsync(string jobId, CancellationToken cancellationToken = default) =>
        new() { StandardOutput = await SendForTextAsync(JobPath(jobId) + "/logs", "logs", jobId, cancellationToken).ConfigureAwait(false) };

    /// <summary>
    /// Follows a job's output: yields each new piece of text as it appears, until the job is terminal and its last output
    /// was yielded. Polls every <see cref="CompGridClientOptions.PollInterval"/>.
    /// </summary>
    public async IAsyncEnumerable<string> FollowLogsAsync(string jobId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string seen = "";
        while (true)
        {
            // The state is read before the logs: once terminal, the logs read after it are complete.
            var job = await GetJobAsync(jobId, cancellationToken).ConfigureAwait(false) ?? throw new JobNotFoundException(jobId) { Operation = "logs" };
            string text = await SendForTextAsync(JobPath(jobId) + "/logs", "logs", jobId, cancellationToken).ConfigureAwait(false);
            // Output and error arrive as one text; when error output was interleaved the prefix may move, then all is new.
            string fresh = text.StartsWith(seen, StringComparison.Ordinal) ? text[seen.Length..] : text;
            if (fresh.Length > 0) yield return fresh;
            seen = text;
            if (job.IsTerminal) yield break;
            await Task.Delay(_options.PollInterval, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async Task<UsageRecord?> GetUsageAsync(string jobId, CancellationToken cancellationToken = default) =>
        await SendAsync<UsageRecord?>(HttpMethod.Get, JobPath(jobId) + "/usage", null, "usage", jobId, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc/>
    public async Task<IReadOnlyList<NodeInfo>> GetNodesAsync(CancellationToken cancellationToken = default) =>
        await SendAsync<List<NodeInfo>>(HttpMethod.Get, "api/nodes", null, "nodes", null, cancellationToken).ConfigureAwait(false);

    /// <summary>Who the portal takes the caller to be (the token's user and roles); asked once, then remembered.</summary>
    public async Task<CallerInfo> GetCallerAsync(CancellationToken cancellationToken = default) =>
        _me ??= await SendAsync<CallerInfo>(HttpMethod.Get, "api/me", null, "me", null, cancellationToken).ConfigureAwait(false);

    /// <summary>A queued job's priority broken down by factor (as <c>sprio</c> does), as the portal sends it.</summary>
    public Task<JsonElement> GetPriorityAsync(string jobId, CancellationToken cancellationToken = default) =>
        SendAsync<JsonElement>(HttpMethod.Get, JobPath(jobId) + "/priority", null, "priority", jobId, cancellationToken);

    /// <summary>The grants the caller may charge (administrators: all), with their balances.</summary>
    public async Task<IReadOnlyList<GrantAccount>> GetGrantsAsync(CancellationToken cancellationToken = default) =>
        await SendAsync<List<GrantAccount>>(HttpMethod.Get, "api/grants", null, "grants", null, cancellationToken).ConfigureAwait(false);

    /// <summary>One grant with its balance, or null when it does not exist or the caller may not see it.</summary>
    public async Task<GrantAccount?> GetGrantAsync(string code, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(code);
        try { return await SendAsync<GrantAccount>(HttpMethod.Get, "api/grants/" + Uri.EscapeDataString(code), null, "grant", null, cancellationToken).ConfigureAwait(false); }
        catch (CompGridException ex) when (ex.Code == CompGridErrorCodes.NotFound) { return null; }
    }

    /// <summary>The price of <paramref name="spec"/> on its grant (<see cref="JobSpec.Account"/>) before it runs; nothing is held.</summary>
    public Task<JobQuote> QuoteAsync(JobSpec spec, CancellationToken cancellationToken = default) =>
        SendAsync<JobQuote>(HttpMethod.Post, "api/quotes", JobRequestBody.From(spec ?? throw new ArgumentNullException(nameof(spec))), "quote", null, cancellationToken);

    /// <summary>A grant's statement for [<paramref name="from"/>, <paramref name="to"/>) as JSON (the portal's default period: this month).</summary>
    public Task<JsonElement> GetStatementAsync(string code, DateTimeOffset? from = null, DateTimeOffset? to = null, CancellationToken cancellationToken = default) =>
        SendAsync<JsonElement>(HttpMethod.Get, StatementPath(code, from, to, "json"), null, "statement", null, cancellationToken);

    /// <summary>A grant's statement as CSV (RFC 4180): one row per entry, then the totals.</summary>
    public Task<string> GetStatementCsvAsync(string code, DateTimeOffset? from = null, DateTimeOffset? to = null, CancellationToken cancellationToken = default) =>
        SendForTextAsync(StatementPath(code, from, to, "csv"), "statement", null, cancellationToken);

    /// <summary>Replays a generated workload through the scheduling policies on a virtual clock (bounded by the portal's limits).</summary>
    public Task<SimulationComparison> SimulateAsync(SimulationRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<SimulationComparison>(HttpMethod.Post, "api/simulations", request ?? throw new ArgumentNullException(nameof(request)), "simulate", null, cancellationToken);

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_ownsHttp) _http.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => BaseAddress.ToString();

    private static string JobPath(string jobId)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        return "api/jobs/" + Uri.EscapeDataString(jobId);
    }

    private static string StatementPath(string code, DateTimeOffset? from, DateTimeOffset? to, string format)
    {
        ArgumentException.ThrowIfNullOrEmpty(code);
        string path = $"api/grants/{Uri.EscapeDataString(code)}/statement?format={format}";
        if (from is { } f) path += "&from=" + Uri.EscapeDataString(f.ToString("O", CultureInfo.InvariantCulture));
        if (to is { } t) path += "&to=" + Uri.EscapeDataString(t.ToString("O", CultureInfo.InvariantCulture));
        return path;
    }

    private async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, string operation, string? jobId, CancellationToken cancellationToken)
    {
        using var response = await SendRawAsync(method, path, body, operation, jobId, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NoContent) return default!;
        try
        {
            return await response.Content.ReadFromJsonAsync<T>(CompGridJson.Options, cancellationToken).ConfigureAwait(false)
                ?? throw new CompGridException($"{operation}: the portal answered with an empty body.") { Operation = operation, JobId = jobId, Code = CompGridErrorCodes.UnexpectedOutput };
        }
        catch (JsonException ex)
        {
            throw new CompGridException($"{operation}: the portal's answer is not the expected JSON: {ex.Message}", ex) { Operation = operation, JobId = jobId, Code = CompGridErrorCodes.UnexpectedOutput };
        }
    }

    private async Task<string> SendForTextAsync(string path, string operation, string? jobId, CancellationToken cancellationToken)
    {
        using var response = await SendRawAsync(HttpMethod.Get, path, null, operation, jobId, cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> SendRawAsync(HttpMethod method, string path, object? body, string operation, string? jobId, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        if (_options.Token is { } token) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null) request.Content = JsonContent.Create(body, body.GetType(), options: CompGridJson.Options);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new CompGridException($"{operation}: the portal at {BaseAddress} cannot be reached: {ex.Message}", ex)
            { Operation = operation, JobId = jobId, Code = CompGridErrorCodes.Unavailable, IsTransient = true };
        }
        catch (TimeoutRejectedException ex)
        {
            throw new CompGridException($"{operation}: the portal at {BaseAddress} did not answer within {_options.RequestTimeout}.", ex)
            { Operation = operation, JobId = jobId, Code = CompGridErrorCodes.Timeout, IsTransient = true };
        }
        Log.Answered(_logger, method.Method, path, (int)response.StatusCode);
        if (response.IsSuccessStatusCode) return response;
        using (response)
            throw await ProblemDetailsMapper.ToExceptionAsync(response, operation, jobId, cancellationToken).ConfigureAwait(false);
    }
}

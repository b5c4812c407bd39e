using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text.Json;
using CompGrid.Notifications;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Timeout;

namespace CompGrid;

/// <summary>
/// POSTs each notification as JSON (<c>{"messageId","jobId","name","owner","account","previousState","state","reason","at","exitCode"}</c>)
/// to the job's webhook and to the configured one, signed (<see cref="WebhookSignature"/>), with the message id in
/// <see cref="WebhookSignature.MessageIdHeaderName"/>. Redirects are not followed and no proxy is used; destinations
/// are checked after DNS resolution (<see cref="NetworkAddressClassifier"/>) and the connection goes to the checked
/// address. A failure throws, so the outbox retries it: transient for timeouts, connection failures, 408, 429 and
/// 5xx; permanent (dead-lettered at once) for refused destinations, redirects and other 4xx.
/// </summary>
internal sealed class WebhookNotifier : IJobNotifier, IDisposable
{
    private readonly HttpClient _http;
    private readonly WebhookNotifierOptions _options;
    private readonly ResiliencePipeline _timeout;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>Creates the notifier from DI.</summary>
    public WebhookNotifier(IOptions<WebhookNotifierOptions> options, ILogger<WebhookNotifier> logger, TimeProvider? timeProvider = null)
        : this(options?.Value ?? throw new ArgumentNullException(nameof(options)), logger, timeProvider ?? TimeProvider.System)
    {
    }

    private WebhookNotifier(WebhookNotifierOptions options, ILogger logger, TimeProvider time)
    {
        WebhookNotifierOptionsValidator.ThrowIfInvalid(options);
        _options = options;
        _logger = logger;
        _time = time;
        var guard = new WebhookDestinationGuard(options.AllowedNetworks.Select(IPNetwork.Parse).ToList());
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false, // a proxy would connect to the destination itself, past the address check
            UseCookies = false,
            ConnectCallback = guard.ConnectAsync,
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
            MaxResponseHeadersLength = 16,
        };
        _http = new HttpClient(handler) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        _timeout = new ResiliencePipelineBuilder { Name = "CompGrid.Webhook", TimeProvider = time }.AddTimeout(options.Timeout).Build();
    }

    /// <summary>Creates the notifier without DI; the options are checked by <see cref="WebhookNotifierOptionsValidator"/>.</summary>
    public static WebhookNotifier Create(WebhookNotifierOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new(options, (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<WebhookNotifier>(), timeProvider ?? TimeProvider.System);
    }

    /// <summary>The notifier's name in the outbox: <c>webhook</c>.</summary>
    public string Name => "webhook";

    /// <summary>Whether there is an address to send to (the job's webhook or <see cref="WebhookNotifierOptions.Url"/>).</summary>
    public bool Accepts(JobNotification notification) => notification?.Job.Spec.Notifications?.Webhook is not null || _options.Url is not null;

    /// <inheritdoc/>
    public async ValueTask NotifyAsync(JobNotification notification, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(notification);
        var j = notification.Job;
        var body = JsonSerializer.SerializeToUtf8Bytes(
            new WebhookBody(notification.MessageId, j.Id, j.Spec.Name, j.Spec.Owner, j.Spec.Account, notification.PreviousState, j.State, j.Reason, notification.At, j.ExitCode),
            CompGridJson.Options);
        foreach (var url in new[] { j.Spec.Notifications?.Webhook, _options.Url }.OfType<Uri>().Distinct())
            await PostAsync(url, body, notification, cancellationToken).ConfigureAwait(false);
    }

    private async Task PostAsync(Uri url, byte[] body, JobNotification notification, CancellationToken ct)
    {
        string jobId = notification.Job.Id;
        if (!url.IsAbsoluteUri || url.Scheme is not ("http" or "https"))
            throw Refused(jobId, $"'{url}' is not an absolute http or https URL");
        try
        {
            await _timeout.ExecuteAsync(async token =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
                request.Headers.TryAddWithoutValidation(WebhookSignature.HeaderName, WebhookSignature.Create(_options.SigningSecret!, _time.GetUtcNow(), body));
                if (notification.MessageId is { } id) request.Headers.TryAddWithoutValidation(WebhookSignature.MessageIdHeaderName, id);
                // Headers only: the receiver's body is never read, so a huge or endless one costs nothing.
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, token).ConfigureAwait(false);
                int status = (int)response.StatusCode;
                if (response.IsSuccessStatusCode) return;
                if (status is >= 300 and < 400) throw Refused(jobId, $"{url} answered {status} (redirects are not followed)");
                bool transient = status is 408 or 429 or >= 500;
                Log.WebhookFailed(_logger, url, jobId, $"HTTP {status}");
                throw new CompGridException($"Webhook {url} answered HTTP {status}.") { JobId = jobId, Operation = "webhook", IsTransient = transient };
            }, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException ex) when (FindGuardError(ex) is { } refused)
        {
            if (!refused.IsTransient) Log.WebhookRefused(_logger, jobId, refused.Message);
            throw new CompGridException(refused.Message, ex) { JobId = jobId, Operation = "webhook", IsTransient = refused.IsTransient };
        }
        catch (HttpRequestException ex)
        {
            Log.WebhookFailed(_logger, url, jobId, ex.Message);
            throw new CompGridException($"Webhook {url} failed: {ex.Message}", ex) { JobId = jobId, Operation = "webhook", IsTransient = true };
        }
        catch (TimeoutRejectedException ex)
        {
            Log.WebhookFailed(_logger, url, jobId, $"no answer within {_options.Timeout}");
            throw new CompGridException($"Webhook {url} did not answer within {_options.Timeout}.", ex) { JobId = jobId, Operation = "webhook", IsTransient = true };
        }
    }

    private CompGridException Refused(string jobId, string reason)
    {
        Log.WebhookRefused(_logger, jobId, reason);
        return new CompGridException($"Webhook refused: {reason}.") { JobId = jobId, Operation = "webhook", IsTransient = false };
    }

    private static CompGridException? FindGuardError(Exception ex)
    {
        for (var e = ex.InnerException; e is not null; e = e.InnerException)
            if (e is CompGridException c) return c;
        return null;
    }

    /// <inheritdoc/>
    public void Dispose() => _http.Dispose();

    private sealed record WebhookBody(string? MessageId, string JobId, string Name, string Owner, string? Account, JobState? PreviousState, JobState State, string? Reason, DateTimeOffset At, int? ExitCode);
}

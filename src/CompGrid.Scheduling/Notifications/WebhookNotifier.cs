using System.Net.Http.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CompGrid;

/// <summary>Options of the webhook notifier.</summary>
public sealed class WebhookNotifierOptions
{
    /// <summary>An address that receives every notification, besides each job's own <see cref="NotificationSettings.Webhook"/>. The default is null.</summary>
    public Uri? Url { get; set; }

    /// <summary>The request timeout. The default is 10 seconds.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// POSTs each notification as JSON (<c>{"jobId","name","owner","account","previousState","state","reason","at","exitCode"}</c>)
/// to the job's webhook and to the configured one. Failures are logged, never thrown.
/// </summary>
public sealed partial class WebhookNotifier : IJobNotifier, IDisposable
{
    private readonly HttpClient _http;
    private readonly IOptionsMonitor<WebhookNotifierOptions> _options;
    private readonly ILogger<WebhookNotifier> _logger;

    /// <summary>Creates the notifier with its own <see cref="HttpClient"/>.</summary>
    public WebhookNotifier(IOptionsMonitor<WebhookNotifierOptions> options, ILogger<WebhookNotifier> logger)
    {
        _options = options;
        _logger = logger;
        _http = new HttpClient { Timeout = options.CurrentValue.Timeout };
    }

    /// <inheritdoc/>
    public async ValueTask NotifyAsync(JobNotification notification, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(notification);
        var j = notification.Job;
        var body = new WebhookBody(j.Id, j.Spec.Name, j.Spec.Owner, j.Spec.Account, notification.PreviousState, j.State, j.Reason, notification.At, j.ExitCode);
        foreach (var url in new[] { j.Spec.Notifications?.Webhook, _options.CurrentValue.Url }.OfType<Uri>().Distinct())
        {
            try
            {
                using var response = await _http.PostAsJsonAsync(url, body, CompGridJson.Options, cancellationToken).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode) LogFailed(_logger, url, j.Id, $"HTTP {(int)response.StatusCode}");
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                LogFailed(_logger, url, j.Id, ex.Message);
            }
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _http.Dispose();

    private sealed record WebhookBody(string JobId, string Name, string Owner, string? Account, JobState? PreviousState, JobState State, string? Reason, DateTimeOffset At, int? ExitCode);

    [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "Webhook {Url} for job {JobId} failed: {Error}")]
    private static partial void LogFailed(ILogger logger, Uri url, string jobId, string error);
}

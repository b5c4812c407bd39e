using Microsoft.Extensions.Logging;

namespace CompGrid.Notifications;

/// <summary>The notification outbox's and notifiers' log messages (event ids 200-229).</summary>
internal static partial class NotificationsLog
{
    [LoggerMessage(EventId = 200, Level = LogLevel.Debug, Message = "Outbox message {MessageId} delivered by {Notifier} (attempt {Attempt})")]
    public static partial void Delivered(ILogger logger, string messageId, string notifier, int attempt);

    [LoggerMessage(EventId = 201, Level = LogLevel.Warning, Message = "Outbox message {MessageId} for {Notifier} failed (attempt {Attempt}); next attempt at {RetryAt}: {Error}")]
    public static partial void WillRetry(ILogger logger, string messageId, string notifier, int attempt, DateTimeOffset retryAt, string error);

    [LoggerMessage(EventId = 202, Level = LogLevel.Error, Message = "Outbox message {MessageId} for {Notifier} is dead-lettered after {Attempt} attempt(s): {Error}")]
    public static partial void DeadLettered(ILogger logger, string messageId, string notifier, int attempt, string error);

    [LoggerMessage(EventId = 203, Level = LogLevel.Error, Message = "The notification outbox could not be read or updated; the worker tries again in {Delay}")]
    public static partial void OutboxFailed(ILogger logger, TimeSpan delay, Exception exception);

    [LoggerMessage(EventId = 204, Level = LogLevel.Warning, Message = "The notification for job {JobId} could not be written to the outbox")]
    public static partial void EnqueueFailed(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(EventId = 210, Level = LogLevel.Warning, Message = "Webhook for job {JobId} refused: {Reason}")]
    public static partial void WebhookRefused(ILogger logger, string jobId, string reason);

    [LoggerMessage(EventId = 211, Level = LogLevel.Warning, Message = "Webhook {Url} for job {JobId} failed: {Error}")]
    public static partial void WebhookFailed(ILogger logger, Uri url, string jobId, string error);

    [LoggerMessage(EventId = 220, Level = LogLevel.Information, Message = "Job {JobId} ({Name}, {Owner}): {Previous} -> {State} {Reason}")]
    public static partial void JobChanged(ILogger logger, string jobId, string name, string owner, string previous, JobState state, string reason);
}

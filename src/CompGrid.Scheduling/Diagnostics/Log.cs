using Microsoft.Extensions.Logging;

namespace CompGrid;

/// <summary>The engine's log messages (category <c>CompGrid.CompGridEngine</c>), source-generated.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "CompGrid engine started: {Backends} backend(s), placement {Placement}, ordering {Ordering}")]
    public static partial void Started(ILogger logger, int backends, string placement, string ordering);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Job {JobId} submitted by {Owner}: {State}")]
    public static partial void Submitted(ILogger logger, string jobId, string owner, JobState state);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Job {JobId} of {Owner} rejected at admission: {Reason}")]
    public static partial void Rejected(ILogger logger, string jobId, string owner, string reason);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Job {JobId} dispatched to {Backend} as {BackendJobId} on [{Nodes}]")]
    public static partial void Dispatched(ILogger logger, string jobId, string backend, string backendJobId, string nodes);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "Job {JobId} finished: {State} exit {ExitCode} {Reason}")]
    public static partial void Finished(ILogger logger, string jobId, JobState state, string exitCode, string reason);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "Backend {Backend} failed during {Operation}: {Message}")]
    public static partial void BackendError(ILogger logger, string backend, string operation, string message);

    [LoggerMessage(EventId = 7, Level = LogLevel.Error, Message = "Scheduling cycle failed")]
    public static partial void CycleFailed(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 8, Level = LogLevel.Error, Message = "Usage sink failed for job {JobId}; delivery is retried in the next cycle")]
    public static partial void SinkFailed(ILogger logger, string jobId, Exception ex);

    [LoggerMessage(EventId = 9, Level = LogLevel.Warning, Message = "Usage reported by backend {Backend} for job {JobId} disagreed with what the engine observed ({Flags}); delivered clamped: {Adjustments}")]
    public static partial void UsageClamped(ILogger logger, string jobId, string backend, UsageFlags flags, string adjustments);

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Job {JobId} adopted from {Backend} as {BackendJobId}")]
    public static partial void Adopted(ILogger logger, string jobId, string backend, string backendJobId);

    [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "This engine instance is now the {Role} scheduler")]
    public static partial void Leadership(ILogger logger, string role);

    [LoggerMessage(EventId = 12, Level = LogLevel.Warning, Message = "Could not check the scheduler lease: {Message}")]
    public static partial void Lease(ILogger logger, string message);

    [LoggerMessage(EventId = 1400, Level = LogLevel.Warning, Message = "Could not reload the stored fair-share usage (the cached usage stays until the next reload)")]
    public static partial void FairShareRefreshFailed(ILogger logger, Exception exception);

    // --- The job policy's log messages (event ids 700-719). ---

    [LoggerMessage(EventId = 700, Level = LogLevel.Information, Message = "Job {JobId} by {Owner} refused by the job policy: {Violations}")]
    public static partial void Denied(ILogger logger, string jobId, string owner, string violations);

    [LoggerMessage(EventId = 701, Level = LogLevel.Debug, Message = "Job policy created with {Roles} role rules and {Grants} grant rules")]
    public static partial void Created(ILogger logger, int roles, int grants);

    // --- The availability windows' log messages (event ids 3630–3639). ---

    [LoggerMessage(EventId = 3630, Level = LogLevel.Information, Message = "Job {JobId} requeued: the window of node pool {Pool} closed")]
    public static partial void Requeued(ILogger logger, string jobId, string pool);

    [LoggerMessage(EventId = 3631, Level = LogLevel.Information, Message = "Job {JobId} signalled: the window of node pool {Pool} closed")]
    public static partial void Signalled(ILogger logger, string jobId, string pool);

    [LoggerMessage(EventId = 3632, Level = LogLevel.Information, Message = "Power manager stopping node {Node}: its window closed")]
    public static partial void StoppingClosed(ILogger logger, string node);

    // --- The power manager's log messages (event ids 3620–3629). ---

    [LoggerMessage(EventId = 3620, Level = LogLevel.Information, Message = "Power manager starting node {Node} for queued job {JobId}")]
    public static partial void Starting(ILogger logger, string node, string jobId);

    [LoggerMessage(EventId = 3621, Level = LogLevel.Information, Message = "Power manager stopping node {Node}: idle since {IdleSince}")]
    public static partial void Stopping(ILogger logger, string node, DateTimeOffset idleSince);

    [LoggerMessage(EventId = 3622, Level = LogLevel.Warning, Message = "Node {Node} failed to resume and is marked down: {Reason}")]
    public static partial void ResumeFailed(ILogger logger, string node, string reason);

    [LoggerMessage(EventId = 3623, Level = LogLevel.Warning, Message = "Node {Node} did not power off cleanly: {Reason}")]
    public static partial void SuspendFailed(ILogger logger, string node, string reason);

    [LoggerMessage(EventId = 3624, Level = LogLevel.Warning, Message = "Power manager pass failed: {Reason}")]
    public static partial void PassFailed(ILogger logger, string reason);

    // --- The notification outbox's and notifiers' log messages (event ids 200-229). ---

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

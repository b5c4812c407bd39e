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
}

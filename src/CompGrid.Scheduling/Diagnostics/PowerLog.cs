using Microsoft.Extensions.Logging;

namespace CompGrid.Scheduling.Diagnostics;

/// <summary>The power manager's log messages (event ids 3620–3629).</summary>
internal static partial class PowerLog
{
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
}

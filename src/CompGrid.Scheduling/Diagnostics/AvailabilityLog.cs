using Microsoft.Extensions.Logging;

namespace CompGrid.Scheduling.Diagnostics;

/// <summary>The availability windows' log messages (event ids 3630–3639).</summary>
internal static partial class AvailabilityLog
{
    [LoggerMessage(EventId = 3630, Level = LogLevel.Information, Message = "Job {JobId} requeued: the window of node pool {Pool} closed")]
    public static partial void Requeued(ILogger logger, string jobId, string pool);

    [LoggerMessage(EventId = 3631, Level = LogLevel.Information, Message = "Job {JobId} signalled: the window of node pool {Pool} closed")]
    public static partial void Signalled(ILogger logger, string jobId, string pool);

    [LoggerMessage(EventId = 3632, Level = LogLevel.Information, Message = "Power manager stopping node {Node}: its window closed")]
    public static partial void StoppingClosed(ILogger logger, string node);
}

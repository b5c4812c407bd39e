using Microsoft.Extensions.Logging;

namespace CompGrid.Diagnostics;

/// <summary>The job policy's log messages (event ids 700-719).</summary>
internal static partial class PolicyLog
{
    [LoggerMessage(EventId = 700, Level = LogLevel.Information, Message = "Job {JobId} by {Owner} refused by the job policy: {Violations}")]
    public static partial void Denied(ILogger logger, string jobId, string owner, string violations);

    [LoggerMessage(EventId = 701, Level = LogLevel.Debug, Message = "Job policy created with {Roles} role rules and {Grants} grant rules")]
    public static partial void Created(ILogger logger, int roles, int grants);
}

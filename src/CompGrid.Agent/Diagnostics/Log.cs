using Microsoft.Extensions.Logging;

namespace CompGrid.Agent;

internal static partial class Log
{
    [LoggerMessage(EventId = 5101, Level = LogLevel.Information, Message = "Registered with {Portal} as '{Machine}' ({Cpus} CPUs, {MemoryMiB} MiB)")]
    public static partial void Registered(ILogger logger, string portal, string machine, int cpus, long memoryMiB);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Warning, Message = "Cannot reach {Portal}: {Reason}; next attempt in {Seconds} s")]
    public static partial void ConnectFailed(ILogger logger, string portal, string reason, double seconds);

    [LoggerMessage(EventId = 5103, Level = LogLevel.Warning, Message = "Connection to {Portal} closed; reconnecting")]
    public static partial void Disconnected(ILogger logger, string portal);

    [LoggerMessage(EventId = 5104, Level = LogLevel.Information, Message = "Job {JobId} started in the sandbox")]
    public static partial void Started(ILogger logger, string jobId);

    [LoggerMessage(EventId = 5105, Level = LogLevel.Information, Message = "Job {JobId}: every file removed")]
    public static partial void CleanedUp(ILogger logger, string jobId);

    [LoggerMessage(EventId = 5106, Level = LogLevel.Information, Message = "utmctl {Arguments} exited with {ExitCode}")]
    public static partial void UtmCommand(ILogger logger, string arguments, int exitCode);

    [LoggerMessage(EventId = 5108, Level = LogLevel.Information, Message = "Console idle for {Minutes:F0} min: taking work")]
    public static partial void ConsoleIdle(ILogger logger, double minutes);

    [LoggerMessage(EventId = 5109, Level = LogLevel.Information, Message = "The machine's user is back: no new work; {Jobs} jobs: {Action}")]
    public static partial void UserBack(ILogger logger, int jobs, string action);

    [LoggerMessage(EventId = 5107, Level = LogLevel.Warning, Message = "Cannot send the answer to UTM request {RequestId}: {Reason}")]
    public static partial void UtmAnswerLost(ILogger logger, string requestId, string reason);
}

using Microsoft.Extensions.Logging;

namespace CompGrid.Client;

internal static partial class Log
{
    [LoggerMessage(EventId = 9501, Level = LogLevel.Debug, Message = "CompGrid client: {Method} {Path} answered {Status}")]
    public static partial void Answered(ILogger logger, string method, string path, int status);

    [LoggerMessage(EventId = 9502, Level = LogLevel.Warning, Message = "CompGrid client: {Method} {Path} failed, retry {Attempt} in {Delay}: {Error}")]
    public static partial void Retrying(ILogger logger, string method, string path, int attempt, TimeSpan delay, string? error);

    [LoggerMessage(EventId = 9503, Level = LogLevel.Information, Message = "CompGrid client: submitted job {JobId} to {Portal}")]
    public static partial void Submitted(ILogger logger, string jobId, Uri portal);
}

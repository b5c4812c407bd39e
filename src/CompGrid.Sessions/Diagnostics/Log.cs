using Microsoft.Extensions.Logging;

namespace CompGrid.Sessions.Diagnostics;

/// <summary>The sessions package's log messages (event ids 900–919).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 900, Level = LogLevel.Information, Message = "Jupyter session {SessionId} of {Owner} opened as job {JobId} (port {Port})")]
    public static partial void Opened(ILogger logger, string sessionId, string owner, string jobId, int port);

    [LoggerMessage(EventId = 901, Level = LogLevel.Information, Message = "Jupyter session {SessionId} answers at {BasePath}")]
    public static partial void Ready(ILogger logger, string sessionId, string basePath);

    [LoggerMessage(EventId = 902, Level = LogLevel.Information, Message = "Jupyter session {SessionId} is being ended: {Reason}")]
    public static partial void Ending(ILogger logger, string sessionId, string reason);

    [LoggerMessage(EventId = 903, Level = LogLevel.Information, Message = "Jupyter session {SessionId} ended ({Reason})")]
    public static partial void Ended(ILogger logger, string sessionId, string reason);

    [LoggerMessage(EventId = 904, Level = LogLevel.Warning, Message = "Checking Jupyter sessions failed; the next poll tries again")]
    public static partial void CheckFailed(ILogger logger, Exception exception);
}

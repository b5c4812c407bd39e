using Microsoft.Extensions.Logging;

namespace CompGrid.Notifications.Email;

/// <summary>The e-mail notifier's log messages (event ids 240-249).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 240, Level = LogLevel.Debug, Message = "Sent the notification {MessageId} for job {JobId} to {Recipient} through {Host}:{Port}")]
    public static partial void Sent(ILogger logger, string? messageId, string jobId, string recipient, string host, int port);

    [LoggerMessage(EventId = 241, Level = LogLevel.Warning, Message = "E-mail for job {JobId} refused: {Reason}")]
    public static partial void Refused(ILogger logger, string jobId, string reason);

    [LoggerMessage(EventId = 242, Level = LogLevel.Warning, Message = "E-mail for job {JobId} through {Host}:{Port} failed: {Error}")]
    public static partial void Failed(ILogger logger, string jobId, string host, int port, string error);
}

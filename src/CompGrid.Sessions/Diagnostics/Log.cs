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

/// <summary>The services' log messages (event ids 920–939).</summary>
internal static partial class ServiceLog
{
    [LoggerMessage(EventId = 920, Level = LogLevel.Information, Message = "Service {Service} of {Owner} deployed with {Replicas} replicas")]
    public static partial void Deployed(ILogger logger, string service, string owner, int replicas);

    [LoggerMessage(EventId = 921, Level = LogLevel.Information, Message = "Service {Service}: replica {Replica} started as job {JobId} on port {Port}")]
    public static partial void ReplicaStarted(ILogger logger, string service, int replica, string jobId, int port);

    [LoggerMessage(EventId = 922, Level = LogLevel.Warning, Message = "Service {Service}: replica {Replica} ({JobId}) is replaced: {Reason}")]
    public static partial void ReplicaReplaced(ILogger logger, string service, int replica, string jobId, string reason);

    [LoggerMessage(EventId = 923, Level = LogLevel.Information, Message = "Service {Service} scales from {From} to {To} replicas ({Rate:F2} requests/s)")]
    public static partial void Scaled(ILogger logger, string service, int from, int to, double rate);

    [LoggerMessage(EventId = 924, Level = LogLevel.Warning, Message = "Service {Service}: a replica could not be submitted; the next poll tries again")]
    public static partial void SubmitFailed(ILogger logger, string service, Exception exception);

    [LoggerMessage(EventId = 925, Level = LogLevel.Warning, Message = "Checking services failed; the next poll tries again")]
    public static partial void CheckFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 926, Level = LogLevel.Information, Message = "Service {Service} deleted by {Actor}")]
    public static partial void Deleted(ILogger logger, string service, string actor);
}

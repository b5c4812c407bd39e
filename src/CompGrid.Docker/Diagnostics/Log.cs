using Microsoft.Extensions.Logging;

namespace CompGrid.Docker.Diagnostics;

/// <summary>The Docker backend's log messages (category <c>CompGrid.Docker</c>).</summary>
internal static partial class Log
{
    /// <summary>The logger category of the package.</summary>
    public const string Category = "CompGrid.Docker";

    [LoggerMessage(1, LogLevel.Information, "Docker job {JobId} started as {BackendJobId} ({Image})")]
    public static partial void Started(ILogger logger, string jobId, string backendJobId, string image);

    [LoggerMessage(2, LogLevel.Information, "Docker job {JobId}: adopted existing container {BackendJobId}")]
    public static partial void Adopted(ILogger logger, string jobId, string backendJobId);

    [LoggerMessage(3, LogLevel.Warning, "Docker job {JobId} could not be started on engine {Node}")]
    public static partial void SubmitFailed(ILogger logger, Exception exception, string jobId, string node);

    [LoggerMessage(4, LogLevel.Warning, "Docker job {JobId}: cleanup failed")]
    public static partial void CleanupFailed(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(5, LogLevel.Information, "Pulling image {Image} on Docker engine {Node}")]
    public static partial void Pulling(ILogger logger, string image, string node);

    [LoggerMessage(6, LogLevel.Information, "Docker job {JobId} exceeded its walltime of {Walltime}; stopping it")]
    public static partial void WalltimeExceeded(ILogger logger, string jobId, TimeSpan walltime);

    [LoggerMessage(7, LogLevel.Warning, "Docker job {JobId}: stopping after the walltime failed")]
    public static partial void WalltimeStopFailed(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(8, LogLevel.Warning, "Docker engine {Node} ({Endpoint}) is unreachable: {Error}")]
    public static partial void EngineUnreachable(ILogger logger, string node, string endpoint, string error);

    [LoggerMessage(9, LogLevel.Error, "Docker engine {Node} declared down: {Reason}")]
    public static partial void EngineDown(ILogger logger, string node, string reason);

    [LoggerMessage(10, LogLevel.Information, "Docker engine {Node} is reachable again")]
    public static partial void EngineBack(ILogger logger, string node);

    [LoggerMessage(11, LogLevel.Information, "Cancelling Docker job {JobId} ({BackendJobId})")]
    public static partial void Cancelling(ILogger logger, string jobId, string backendJobId);

    [LoggerMessage(12, LogLevel.Warning, "Docker job {JobId}: keeping its logs failed")]
    public static partial void KeepLogsFailed(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(13, LogLevel.Warning, "Docker job {JobId}: output rejected: {Message}")]
    public static partial void OutputRejected(ILogger logger, string jobId, string message);

    [LoggerMessage(14, LogLevel.Information, "Docker job {JobId} completed; container {BackendJobId} removed")]
    public static partial void Completed(ILogger logger, string jobId, string backendJobId);

    [LoggerMessage(15, LogLevel.Warning, "Docker job {JobId}: output {Path} does not exist")]
    public static partial void OutputMissing(ILogger logger, string jobId, string path);

    [LoggerMessage(16, LogLevel.Debug, "Docker engine {Node}: event stream interrupted: {Error}")]
    public static partial void EventsInterrupted(ILogger logger, string node, string error);

    [LoggerMessage(17, LogLevel.Debug, "Docker job {JobId}: stats sample failed: {Error}")]
    public static partial void StatsFailed(ILogger logger, string jobId, string error);
}

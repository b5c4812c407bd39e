using Microsoft.Extensions.Logging;

namespace CompGrid.EmbeddedPortal.Backends.Diagnostics;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Process backend {Backend}: job {JobId} started as {BackendJobId} (pid {Pid}): {Executable}")]
    public static partial void Started(ILogger logger, string backend, string jobId, string backendJobId, int pid, string executable);

    [LoggerMessage(2, LogLevel.Information, "Process backend {Backend}: {BackendJobId} ended {State} (exit {ExitCode})")]
    public static partial void Ended(ILogger logger, string backend, string backendJobId, JobState state, int exitCode);

    [LoggerMessage(3, LogLevel.Warning, "Process backend {Backend}: killing {BackendJobId} failed")]
    public static partial void KillFailed(ILogger logger, Exception exception, string backend, string backendJobId);
}

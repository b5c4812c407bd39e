using Microsoft.Extensions.Logging;

namespace CompGrid.VirtualMachines.Diagnostics;

/// <summary>The VM backend's log messages (event ids 3600–3619).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3600, Level = LogLevel.Information, Message = "VM {Node} of backend {Backend} starting (pid {Pid})")]
    public static partial void Starting(ILogger logger, string backend, string node, int pid);

    [LoggerMessage(EventId = 3601, Level = LogLevel.Information, Message = "VM {Node} of backend {Backend} is up after {Elapsed}")]
    public static partial void Up(ILogger logger, string backend, string node, TimeSpan elapsed);

    [LoggerMessage(EventId = 3602, Level = LogLevel.Information, Message = "VM {Node} of backend {Backend} powering down ({How})")]
    public static partial void PoweringDown(ILogger logger, string backend, string node, string how);

    [LoggerMessage(EventId = 3603, Level = LogLevel.Warning, Message = "VM {Node} of backend {Backend} exited with code {ExitCode}")]
    public static partial void Exited(ILogger logger, string backend, string node, int exitCode);

    [LoggerMessage(EventId = 3604, Level = LogLevel.Debug, Message = "VM {Node} event {Event}")]
    public static partial void Event(ILogger logger, string node, string @event);

    [LoggerMessage(EventId = 3605, Level = LogLevel.Information, Message = "Job {JobId} started in VM {Node} as guest pid {Pid}")]
    public static partial void JobStarted(ILogger logger, string jobId, string node, long pid);

    [LoggerMessage(EventId = 3606, Level = LogLevel.Warning, Message = "Job {JobId} in VM {Node}: the VM went away; the job failed with its node")]
    public static partial void JobLostNode(ILogger logger, string jobId, string node);
}

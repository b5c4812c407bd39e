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

    [LoggerMessage(EventId = 3640, Level = LogLevel.Information, Message = "Instance {Instance} of {Owner} ({Template}, grant {Account}): {Transition}")]
    public static partial void InstanceTransition(ILogger logger, string instance, string owner, string template, string account, string transition);

    [LoggerMessage(EventId = 3641, Level = LogLevel.Information, Message = "Instance {Instance}: period {Key} closed with {Running} running; usage delivered")]
    public static partial void PeriodCharged(ILogger logger, string instance, string key, TimeSpan running);

    [LoggerMessage(EventId = 3642, Level = LogLevel.Warning, Message = "Instance {Instance} of {Owner} has been idle since {Since}")]
    public static partial void InstanceIdle(ILogger logger, string instance, string owner, DateTimeOffset since);

    [LoggerMessage(EventId = 3643, Level = LogLevel.Warning, Message = "Instance {Instance} suspended: {Reason}")]
    public static partial void InstanceSuspended(ILogger logger, string instance, string reason);

    [LoggerMessage(EventId = 3644, Level = LogLevel.Warning, Message = "Instance {Instance} was {State} but its VM is not running (restart); its open period is closed at {At}")]
    public static partial void InstanceRecovered(ILogger logger, string instance, InstanceState state, DateTimeOffset at);

    [LoggerMessage(EventId = 3645, Level = LogLevel.Warning, Message = "VM instance metering round failed; retrying at the next tick")]
    public static partial void MeteringFailed(ILogger logger, Exception exception);
}

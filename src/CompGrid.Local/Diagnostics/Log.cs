using Microsoft.Extensions.Logging;

namespace CompGrid.Local.Diagnostics;

/// <summary>The local backend's log messages (event ids 200–219).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "Local job {JobId} started as pid {Pid} on {Nodes}, running as {Account}")]
    public static partial void Started(ILogger logger, string jobId, int pid, string nodes, string account);

    [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "Local job {JobId} exceeded its walltime {Walltime}; stopping it")]
    public static partial void TimedOut(ILogger logger, string jobId, TimeSpan walltime);

    [LoggerMessage(EventId = 202, Level = LogLevel.Information, Message = "Local backend {Backend} confines each job with {Cgroups}")]
    public static partial void CgroupsInUse(ILogger logger, string backend, string cgroups);

    [LoggerMessage(EventId = 203, Level = LogLevel.Warning, Message = "Local backend {Backend} cannot give jobs cgroups of their own ({Reasons}); falling back to the session kill with rlimits: no CPU quota, memory is limited by address space, and escaped processes of a job's session are found by scanning /proc")]
    public static partial void NoCgroups(ILogger logger, string backend, string reasons);

    [LoggerMessage(EventId = 204, Level = LogLevel.Warning, Message = "Local backend {Backend} uses cgroups but some controllers are missing: {Reasons}")]
    public static partial void SomeControllersMissing(ILogger logger, string backend, string reasons);

    [LoggerMessage(EventId = 205, Level = LogLevel.Warning, Message = "Local backend {Backend} does not run as root: jobs run as the host's own user and can read and write whatever the portal can. Run the host as root (jobs then run as RunAsUser) for a sandbox")]
    public static partial void NoUserSwitch(ILogger logger, string backend);

    [LoggerMessage(EventId = 206, Level = LogLevel.Information, Message = "Local backend {Backend} settled job {JobId} left by a previous run (its process had ended)")]
    public static partial void SettledLeftover(ILogger logger, string backend, string jobId);

    [LoggerMessage(EventId = 207, Level = LogLevel.Information, Message = "Local backend {Backend} killed and removed the leftover cgroup of job {JobId}")]
    public static partial void RemovedLeftoverCgroup(ILogger logger, string backend, string jobId);

    [LoggerMessage(EventId = 208, Level = LogLevel.Warning, Message = "Local job {JobId}: {Problem}")]
    public static partial void CleanupProblem(ILogger logger, string jobId, string problem);

    [LoggerMessage(EventId = 209, Level = LogLevel.Warning, Message = "Local job {JobId} was killed for exceeding its memory limit of {MemoryMiB} MiB")]
    public static partial void OutOfMemory(ILogger logger, string jobId, long memoryMiB);
}

using Microsoft.Extensions.Logging;

namespace CompGrid.Slurm;

internal static partial class Log
{
    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Slurm backend {Backend}: submitted CompGrid job {JobId} as Slurm job {SlurmJobId}")]
    public static partial void Submitted(ILogger logger, string backend, string jobId, string slurmJobId);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "Slurm backend {Backend}: CompGrid job {JobId} was already submitted as Slurm job {SlurmJobId}; not submitting again")]
    public static partial void FoundExisting(ILogger logger, string backend, string jobId, string slurmJobId);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Warning, Message = "Slurm backend {Backend}: transient fault, retry {Attempt} in {Delay}: {Error}")]
    public static partial void Retrying(ILogger logger, string backend, int attempt, TimeSpan delay, string? error);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Warning, Message = "Slurm backend {Backend}: circuit opened for {BreakDuration} after repeated faults")]
    public static partial void CircuitOpened(ILogger logger, string backend, TimeSpan breakDuration);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Information, Message = "Slurm backend {Backend}: circuit closed, cluster reachable again")]
    public static partial void CircuitClosed(ILogger logger, string backend);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Information, Message = "Slurm backend {Backend}: cancelled Slurm job {SlurmJobId}")]
    public static partial void Cancelled(ILogger logger, string backend, string slurmJobId);

    [LoggerMessage(EventId = 5007, Level = LogLevel.Information, Message = "Slurm backend {Backend}: SSH connection {Connection} to {Location} open (SSH.NET)")]
    public static partial void SshConnected(ILogger logger, string backend, int connection, string location);

    [LoggerMessage(EventId = 5008, Level = LogLevel.Warning, Message = "Slurm backend {Backend}: SSH connection to {Location} lost; the next command reconnects: {Error}")]
    public static partial void SshDropped(ILogger logger, string backend, string location, string error);

    [LoggerMessage(EventId = 5009, Level = LogLevel.Warning, Message = "Slurm backend {Backend}: refused to read the log of Slurm job {SlurmJobId}: {Reason}")]
    public static partial void LogFileRefused(ILogger logger, string backend, string slurmJobId, string reason);
}

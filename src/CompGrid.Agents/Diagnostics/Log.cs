using Microsoft.Extensions.Logging;

namespace CompGrid.Agents;

internal static partial class Log
{
    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Agent '{Machine}' registered (host {Hostname}, {Cpus} CPUs, {MemoryMiB} MiB, {Jobs} jobs still on it)")]
    public static partial void Registered(ILogger logger, string machine, string hostname, int cpus, long memoryMiB, int jobs);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "Agent '{Machine}' disconnected")]
    public static partial void Disconnected(ILogger logger, string machine);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Warning, Message = "Agent '{Machine}' missed its heartbeats: node down, {Jobs} jobs ended as NodeFailed")]
    public static partial void MachineLost(ILogger logger, string machine, int jobs);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Warning, Message = "Agent connection refused: {Reason}")]
    public static partial void Refused(ILogger logger, string reason);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Information, Message = "Job {JobId} sent to agent '{Machine}'")]
    public static partial void Assigned(ILogger logger, string jobId, string machine);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Warning, Message = "Agent '{Machine}' reported job {JobId}, which is not its own or already ended; ignored")]
    public static partial void ForeignReport(ILogger logger, string machine, string jobId);

    [LoggerMessage(EventId = 5007, Level = LogLevel.Information, Message = "UTM {Command} '{Vm}' on '{Host}': {Outcome}")]
    public static partial void UtmCommand(ILogger logger, string host, string command, string vm, string outcome);

    [LoggerMessage(EventId = 5008, Level = LogLevel.Warning, Message = "Agent '{Machine}' answered UTM request {RequestId}, which it was not sent or which timed out; ignored")]
    public static partial void ForeignUtmAnswer(ILogger logger, string machine, string requestId);

    [LoggerMessage(EventId = 5009, Level = LogLevel.Information, Message = "UTM VM node '{Node}' ({Vm} on '{Host}'): {Action}")]
    public static partial void UtmNode(ILogger logger, string node, string vm, string host, string action);
}

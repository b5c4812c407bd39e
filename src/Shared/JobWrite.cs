using System.Text.Json;

namespace CompGrid.Storage;

/// <summary>What one group-committed write does.</summary>
internal enum JobWriteKind
{
    Create,
    Update,
    Usage,
    Messages,
}

/// <summary>
/// One write for the writer, serialised by its caller (so the JSON work runs in parallel, outside the writer gate).
/// A write's first statement is its guard (the insert of a new id, the update at the expected version): when the guard
/// changes no row, nothing else of the write runs, so a refused write never stores half of itself.
/// </summary>
internal sealed class JobWrite : PendingWrite
{
    public required JobWriteKind Kind { get; init; }
    public JobRecord? Job { get; init; }
    public string? Json { get; init; }
    public long ExpectedVersion { get; init; }
    public JobTransition? Transition { get; init; }
    public IReadOnlyList<OutboxMessage> Messages { get; init; } = [];
    public IReadOnlyList<string> MessageJson { get; init; } = [];
    public UsageRecord? Usage { get; init; }

    public static JobWrite Create(JobRecord job, JobTransition transition) =>
        new() { Kind = JobWriteKind.Create, Job = job, Json = JsonSerializer.Serialize(job, CompGridJson.Options), Transition = transition };

    public static JobWrite Update(JobRecord job, long expectedVersion, JobTransition? transition, IReadOnlyList<OutboxMessage> messages) => new()
    {
        Kind = JobWriteKind.Update, Job = job, Json = JsonSerializer.Serialize(job, CompGridJson.Options), ExpectedVersion = expectedVersion,
        Transition = transition, Messages = messages, MessageJson = SerializeAll(messages),
    };

    public static JobWrite AddUsage(UsageRecord usage) =>
        new() { Kind = JobWriteKind.Usage, Usage = usage, Json = JsonSerializer.Serialize(usage, CompGridJson.Options) };

    public static JobWrite Enqueue(IReadOnlyList<OutboxMessage> messages) =>
        new() { Kind = JobWriteKind.Messages, Messages = messages, MessageJson = SerializeAll(messages) };

    private static string[] SerializeAll(IReadOnlyList<OutboxMessage> messages) =>
        messages.Select(m => JsonSerializer.Serialize(m.Notification, CompGridJson.Options)).ToArray();
}

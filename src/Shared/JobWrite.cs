using System.Text.Json;

namespace CompGrid.Storage;

/// <summary>What one group-committed write does.</summary>
internal enum JobWriteKind
{
    Create,
    Update,
    Usage,
    Messages,
    FairShare,
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
    public string? ChargedJobId { get; init; }
    public FairShareUsage? FairShare { get; init; }
    public double HalfLifeSeconds { get; init; }
    /// <summary>A fair-share charge's result: the association's stored usage after it (set by the writer).</summary>
    public FairShareUsage? Charged { get; set; }

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

    /// <summary>A fair-share charge: its guard is the insert of the job id into the charged jobs.</summary>
    public static JobWrite ChargeFairShare(string jobId, FairShareUsage usage, TimeSpan halfLife) =>
        new() { Kind = JobWriteKind.FairShare, ChargedJobId = jobId, FairShare = usage, HalfLifeSeconds = halfLife.TotalSeconds };

    private static string[] SerializeAll(IReadOnlyList<OutboxMessage> messages) =>
        messages.Select(m => JsonSerializer.Serialize(m.Notification, CompGridJson.Options)).ToArray();
}

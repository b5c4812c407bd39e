namespace CompGrid;

/// <summary>What a queue ordering policy knows besides the jobs.</summary>
public sealed record QueueOrderingContext
{
    /// <summary>The current time (from the engine's <see cref="TimeProvider"/>).</summary>
    public DateTimeOffset Now { get; init; }
}

/// <summary>
/// Orders the pending queue: the engine tries jobs in the order returned. Named and selected by configuration
/// (an unknown name fails start-up).
/// </summary>
public interface IQueueOrderingPolicy
{
    /// <summary>The policy's registered name (for example <c>fifo</c>, <c>multifactor</c>).</summary>
    string Name { get; }

    /// <summary>Sorts <paramref name="pending"/> in place, first to run first.</summary>
    void Order(List<JobRecord> pending, QueueOrderingContext context);
}

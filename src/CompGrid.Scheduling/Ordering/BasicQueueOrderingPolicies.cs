namespace CompGrid;

/// <summary>Orders by nice (lower first), then submit time, then id. Registered as <c>priority</c>.</summary>
internal sealed class PriorityQueueOrderingPolicy : IQueueOrderingPolicy
{
    /// <summary>The registered name.</summary>
    public const string PolicyName = QueueOrderingNames.Priority;

    /// <inheritdoc/>
    public string Name => PolicyName;

    /// <inheritdoc/>
    public void Order(List<JobRecord> pending, QueueOrderingContext context)
    {
        ArgumentNullException.ThrowIfNull(pending);
        pending.Sort(static (a, b) =>
        {
            int c = a.Spec.Nice.CompareTo(b.Spec.Nice);
            if (c != 0) return c;
            c = a.SubmittedAt.CompareTo(b.SubmittedAt);
            return c != 0 ? c : string.CompareOrdinal(a.Id, b.Id);
        });
    }
}

/// <summary>Orders by submit time, then id. Registered as <c>fifo</c>.</summary>
internal sealed class FifoQueueOrderingPolicy : IQueueOrderingPolicy
{
    /// <summary>The registered name.</summary>
    public const string PolicyName = QueueOrderingNames.Fifo;

    /// <inheritdoc/>
    public string Name => PolicyName;

    /// <inheritdoc/>
    public void Order(List<JobRecord> pending, QueueOrderingContext context)
    {
        ArgumentNullException.ThrowIfNull(pending);
        pending.Sort(static (a, b) => a.SubmittedAt != b.SubmittedAt ? a.SubmittedAt.CompareTo(b.SubmittedAt) : string.CompareOrdinal(a.Id, b.Id));
    }
}

namespace CompGrid;

/// <summary>
/// Decayed fair-share usage per (account, user) association, stored beside the jobs so that fair share survives a
/// restart and every instance on one database sees the same usage. The SQLite and PostgreSQL job stores implement it;
/// the engine's fair-share ledger charges each ended job here once and reloads the table at start-up and on its
/// refresh period.
/// </summary>
public interface IFairShareUsageStore
{
    /// <summary>
    /// Charges one job's usage to its association, once per <paramref name="jobId"/>: the stored usage is decayed from
    /// its own time to <see cref="FairShareUsage.At"/> with <paramref name="halfLife"/> (or the charge is decayed to the
    /// stored time when it is older), then added, in one transaction. Returns <see langword="null"/> when the job was
    /// charged already (nothing changes); otherwise the association's stored usage after the charge.
    /// </summary>
    Task<FairShareUsage?> TryChargeFairShareAsync(string jobId, FairShareUsage usage, TimeSpan halfLife, CancellationToken cancellationToken = default);

    /// <summary>Every association's stored usage, each as of its own <see cref="FairShareUsage.At"/>.</summary>
    Task<IReadOnlyList<FairShareUsage>> GetFairShareUsageAsync(CancellationToken cancellationToken = default);
}

/// <summary>An association's decayed fair-share usage as of a point in time.</summary>
public sealed record FairShareUsage
{
    /// <summary>The account (the job's account, or the fair-share default account).</summary>
    public required string Account { get; init; }

    /// <summary>The user (the job's owner).</summary>
    public required string User { get; init; }

    /// <summary>The usage (CPU-seconds plus weighted GPU-seconds) as of <see cref="At"/>.</summary>
    public required double Usage { get; init; }

    /// <summary>When <see cref="Usage"/> holds: it decays from here on.</summary>
    public required DateTimeOffset At { get; init; }

    /// <summary>
    /// How many jobs have been charged to the association. It grows with every charge, so of two reads of one
    /// association the one with more charges is the newer.
    /// </summary>
    public long Charges { get; init; }
}

namespace CompGrid.Storage;

/// <summary>The argument rules of <see cref="IFairShareUsageStore.TryChargeFairShareAsync"/>, shared by the SQL stores.</summary>
internal static class FairShareCharges
{
    /// <summary>Throws an <see cref="ArgumentException"/> naming the field and the rule it breaks.</summary>
    public static void Validate(string jobId, FairShareUsage usage, TimeSpan halfLife)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(jobId);
        ArgumentNullException.ThrowIfNull(usage);
        if (string.IsNullOrWhiteSpace(usage.Account)) throw new ArgumentException("FairShareUsage.Account must not be empty.", nameof(usage));
        if (string.IsNullOrWhiteSpace(usage.User)) throw new ArgumentException("FairShareUsage.User must not be empty.", nameof(usage));
        if (!double.IsFinite(usage.Usage) || usage.Usage < 0) throw new ArgumentException("FairShareUsage.Usage must be a finite, non-negative number.", nameof(usage));
        if (halfLife <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(halfLife), halfLife, "The half-life must be positive.");
    }
}

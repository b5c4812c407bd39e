using CompGrid.Backfill;
using CompGrid.Limits;
using CompGrid.Ordering;

namespace CompGrid;

/// <summary>
/// Settings of the scheduling policies the engine runs each cycle: multifactor priority weights, fair share, account
/// and user limits, and backfill. Bind from the <c>CompGrid:Scheduling</c> configuration section; validated at start-up.
/// The policy names themselves are <see cref="CompGridOptions.PlacementPolicy"/> and <see cref="CompGridOptions.QueueOrdering"/>.
/// </summary>
public sealed class SchedulingPolicyOptions
{
    /// <summary>Multifactor priority weights (used by the <c>multifactor</c> and <c>fair-tree</c> orderings).</summary>
    public MultifactorPriorityOptions Priority { get; set; } = new();

    /// <summary>The fair-share account hierarchy and usage half-life.</summary>
    public FairShareOptions FairShare { get; set; } = new();

    /// <summary>Account and user limits (checked at admission and at scheduling).</summary>
    public ResourceLimitsOptions Limits { get; set; } = new();

    /// <summary>Backfill settings.</summary>
    public BackfillOptions Backfill { get; set; } = new();

    /// <summary>Checks the settings; returns the problems found (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        errors.AddRange(Priority.Validate());
        errors.AddRange(FairShare.Validate());
        errors.AddRange(Limits.Validate());
        if (Backfill.EstimateDepth < 0) errors.Add("Backfill.EstimateDepth must not be negative.");
        if (Backfill.MaxJobTest < 0) errors.Add("Backfill.MaxJobTest must not be negative.");
        return errors;
    }
}

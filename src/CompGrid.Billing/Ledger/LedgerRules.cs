namespace CompGrid.Billing;

/// <summary>The outcome of placing a hold.</summary>
public enum HoldStatus
{
    /// <summary>The hold was placed.</summary>
    Placed,
    /// <summary>The job already has a hold (or was already charged); nothing changed.</summary>
    AlreadyExists,
    /// <summary>The grant's spendable balance is below the amount; nothing changed.</summary>
    InsufficientFunds,
    /// <summary>The grant does not exist; nothing changed.</summary>
    GrantNotFound,
    /// <summary>The job's owner may not charge the grant; nothing changed.</summary>
    NotAMember,
}

/// <summary>
/// The ledger's rules, written once and applied inside a store's guarded write (<see cref="LedgerWrite"/>), so that
/// every store — in memory, SQLite, PostgreSQL, a third party's — enforces the same ones atomically:
/// <list type="bullet">
/// <item>only a member (or the principal investigator) of the grant places a hold on it;</item>
/// <item>a job has at most one hold, keyed <c>hold:{job}</c>, and none once it was charged;</item>
/// <item>a hold is placed only when the grant's spendable balance (available + credit limit) covers it;</item>
/// <item>a job is charged once (key <c>charge:{job}</c>), and the charge releases the job's active hold in the same write;</item>
/// <item>a release ends the job's latest unreleased hold (key <c>release:{holdId}</c>), once.</item>
/// </list>
/// </summary>
internal static class LedgerRules
{
    public static string HoldKey(string jobId) => "hold:" + jobId;

    public static string ChargeKey(string jobId) => "charge:" + jobId;

    /// <summary>The job's latest hold that no release references, or null.</summary>
    public static LedgerEntry? ActiveHold(IReadOnlyList<LedgerEntry> jobEntries)
    {
        for (var i = jobEntries.Count - 1; i >= 0; i--)
        {
            var hold = jobEntries[i];
            if (hold.Kind != LedgerEntryKind.Hold) continue;
            return jobEntries.Any(e => e.Kind == LedgerEntryKind.HoldRelease && e.RefEntryId == hold.Id) ? null : hold;
        }
        return null;
    }

    /// <summary>The job's latest hold, released or not: the grant and quote the job was admitted with.</summary>
    public static LedgerEntry? AdmissionHold(IReadOnlyList<LedgerEntry> jobEntries) => jobEntries.LastOrDefault(e => e.Kind == LedgerEntryKind.Hold);

    public static bool IsCharged(IReadOnlyList<LedgerEntry> jobEntries, string jobId) =>
        jobEntries.Any(e => e.Kind == LedgerEntryKind.Charge || string.Equals(e.Key, ChargeKey(jobId), StringComparison.Ordinal));

    /// <summary>Whether <paramref name="hold"/> may be placed, and what to append.</summary>
    public static (HoldStatus Status, IReadOnlyList<LedgerEntry> Append) PlaceHold(LedgerState state, LedgerEntry hold, string owner)
    {
        var job = hold.JobId ?? throw new ArgumentException("A hold names its job.", nameof(hold));
        // Membership is read again under the grant's lock: a member removed meanwhile places no hold.
        if (!state.Grant.CanCharge(owner)) return (HoldStatus.NotAMember, []);
        if (IsCharged(state.JobEntries, job) || state.JobEntries.Any(e => e.Kind == LedgerEntryKind.Hold))
            return (HoldStatus.AlreadyExists, []);
        if (state.Balance.Spendable < -hold.Amount) return (HoldStatus.InsufficientFunds, []);
        return (HoldStatus.Placed, [hold with { Key = HoldKey(job) }]);
    }

    /// <summary>The charge and the release of the job's active hold, or nothing when the job was charged already.</summary>
    public static IReadOnlyList<LedgerEntry> Charge(LedgerState state, LedgerEntry charge)
    {
        var job = charge.JobId ?? throw new ArgumentException("A charge names its job.", nameof(charge));
        if (IsCharged(state.JobEntries, job)) return [];
        var keyed = charge with { Key = ChargeKey(job) };
        return ActiveHold(state.JobEntries) is { } hold ? [keyed, LedgerEntry.ReleaseOf(hold, charge.At, charge.Actor, "charged")] : [keyed];
    }

    /// <summary>The release of the job's active hold, or nothing when it has none.</summary>
    public static IReadOnlyList<LedgerEntry> Release(LedgerState state, DateTimeOffset at, string? actor, string? reason) =>
        ActiveHold(state.JobEntries) is { } hold ? [LedgerEntry.ReleaseOf(hold, at, actor, reason)] : [];
}

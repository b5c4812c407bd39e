namespace CompGrid.Billing;

/// <summary>The kind of a ledger entry.</summary>
public enum LedgerEntryKind
{
    /// <summary>Money granted (positive). May expire (<see cref="LedgerEntry.ExpiresAt"/>).</summary>
    Allocation,
    /// <summary>A hold (lien) placed at admission: the quote's maximum cost (negative; lowers the available balance only).</summary>
    Hold,
    /// <summary>The release of a hold (positive, equal and opposite to the hold it references).</summary>
    HoldRelease,
    /// <summary>The charge for a finished job (negative).</summary>
    Charge,
    /// <summary>A manual correction or refund (either sign), with a reason and an actor.</summary>
    Adjustment,
    /// <summary>The unused remainder of an allocation that expired (negative).</summary>
    Expiration,
}

/// <summary>Marks on a ledger entry that an auditor should see.</summary>
[Flags]
public enum LedgerEntryFlags
{
    /// <summary>Nothing to note.</summary>
    None = 0,
    /// <summary>
    /// A charge that the usage record would have made larger than the job could have used (its quoted resources for
    /// the time it was observed running): it was clamped to that cap.
    /// </summary>
    Clamped = 1,
    /// <summary>The usage record named another account than the grant of the job's hold; the hold's grant was charged.</summary>
    AccountMismatch = 2,
}

/// <summary>
/// One append-only ledger entry. <see cref="Amount"/> is signed: its effect on the grant's available balance
/// (allocations and releases positive; holds, charges and expirations negative; adjustments either way). Holds and
/// releases affect only the available balance, every other kind the posted balance too. Entries are never updated
/// or deleted; a hold ends with a <see cref="LedgerEntryKind.HoldRelease"/> entry that references it.
/// </summary>
public sealed record LedgerEntry
{
    /// <summary>The entry's sequence number, assigned by the store (0 before it is stored).</summary>
    public long Id { get; init; }

    /// <summary>The grant.</summary>
    public string GrantCode { get; init; } = "";

    /// <summary>The kind.</summary>
    public LedgerEntryKind Kind { get; init; }

    /// <summary>The signed amount, exact and already rounded to the currency's minor unit.</summary>
    public decimal Amount { get; init; }

    /// <summary>The currency (the grant's).</summary>
    public string Currency { get; init; } = "";

    /// <summary>When the entry took effect.</summary>
    public DateTimeOffset At { get; init; }

    /// <summary>The job, for holds, releases and charges.</summary>
    public string? JobId { get; init; }

    /// <summary>The user the entry concerns (the job's owner for holds and charges).</summary>
    public string? User { get; init; }

    /// <summary>Who posted it (an administrator, or <c>billing</c> for automatic entries).</summary>
    public string? Actor { get; init; }

    /// <summary>Why (required for adjustments).</summary>
    public string? Reason { get; init; }

    /// <summary>
    /// An idempotency key, unique across the ledger when set: <c>hold:{job}</c>, <c>charge:{job}</c>,
    /// <c>release:{holdId}</c>, <c>expire:{allocationId}</c>, <c>carry:{allocationId}</c>, or one chosen by the caller
    /// for adjustments. Appending an entry whose key exists changes nothing.
    /// </summary>
    public string? Key { get; init; }

    /// <summary>The entry this one refers to (the hold a release ends, the allocation an expiration closes).</summary>
    public long? RefEntryId { get; init; }

    /// <summary>For allocations: when the unused remainder expires, or null for never.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>For allocations: the fraction (0–1) of the unused remainder carried over when it expires. The default is 0.</summary>
    public decimal CarryOverFraction { get; init; }

    /// <summary>For holds and charges: how the amount was computed.</summary>
    public CostBreakdown? Details { get; init; }

    /// <summary>Marks for auditors (a clamped charge, a usage record that named another grant). The default is <see cref="LedgerEntryFlags.None"/>.</summary>
    public LedgerEntryFlags Flags { get; init; }

    /// <summary>Whether the entry changes the posted balance (everything except holds and releases).</summary>
    public bool IsPosted => Kind is not (LedgerEntryKind.Hold or LedgerEntryKind.HoldRelease);

    /// <summary>The idempotency key of the release of the hold <paramref name="holdId"/>.</summary>
    public static string ReleaseKey(long holdId) => "release:" + holdId.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The entry that releases <paramref name="hold"/>: equal and opposite, referencing it, keyed <c>release:{holdId}</c>.</summary>
    public static LedgerEntry ReleaseOf(LedgerEntry hold, DateTimeOffset at, string? actor, string? reason)
    {
        ArgumentNullException.ThrowIfNull(hold);
        return new LedgerEntry
        {
            GrantCode = hold.GrantCode, Kind = LedgerEntryKind.HoldRelease, Amount = -hold.Amount, Currency = hold.Currency, At = at,
            JobId = hold.JobId, User = hold.User, Actor = actor, Reason = reason, Key = ReleaseKey(hold.Id), RefEntryId = hold.Id,
        };
    }

    /// <inheritdoc/>
    public override string ToString() => $"#{Id} {At:O} {GrantCode} {Kind} {Amount} {Currency}{(JobId is null ? "" : " job " + JobId)}{(Reason is null ? "" : ": " + Reason)}{(Flags == LedgerEntryFlags.None ? "" : " [" + Flags + "]")}";
}

/// <summary>A filter for reading ledger entries. Null members do not filter.</summary>
public sealed record LedgerQuery
{
    /// <summary>Only this grant.</summary>
    public string? GrantCode { get; init; }

    /// <summary>Only entries of this job.</summary>
    public string? JobId { get; init; }

    /// <summary>Only entries at or after this instant.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Only entries before this instant.</summary>
    public DateTimeOffset? To { get; init; }
}

namespace CompGrid.Billing;

/// <summary>The outcome of <see cref="IBillingStore.TryPlaceHoldAsync"/>.</summary>
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
}

/// <summary>The result of placing a hold.</summary>
/// <param name="Status">What happened.</param>
/// <param name="Entry">The hold entry (the existing one for <see cref="HoldStatus.AlreadyExists"/> when it is still active).</param>
/// <param name="Spendable">The grant's spendable balance (available + credit limit) before the hold.</param>
public sealed record HoldResult(HoldStatus Status, LedgerEntry? Entry, decimal Spendable);

/// <summary>
/// Durable storage of grants, rate cards and the ledger. The ledger is append-only: entries are never updated or
/// deleted, balances are derived from entries. Every method is atomic and safe under concurrent use by several
/// threads and several processes sharing the store; keys (<see cref="LedgerEntry.Key"/>) are unique, which makes
/// holds, charges, releases and expirations idempotent.
/// </summary>
public interface IBillingStore
{
    /// <summary>Creates the schema or migrates it to the current version. Idempotent.</summary>
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>Stores a new grant; returns <see langword="false"/> when its code exists.</summary>
    Task<bool> TryCreateGrantAsync(Grant grant, CancellationToken cancellationToken = default);

    /// <summary>Replaces a grant; returns <see langword="false"/> when it does not exist.</summary>
    Task<bool> TryUpdateGrantAsync(Grant grant, CancellationToken cancellationToken = default);

    /// <summary>One grant, or null.</summary>
    Task<Grant?> GetGrantAsync(string code, CancellationToken cancellationToken = default);

    /// <summary>Every grant, by code.</summary>
    Task<IReadOnlyList<Grant>> ListGrantsAsync(CancellationToken cancellationToken = default);

    /// <summary>Stores a rate card version; returns <see langword="false"/> when that name and version exist (it is not replaced).</summary>
    Task<bool> TrySaveRateCardAsync(RateCard card, CancellationToken cancellationToken = default);

    /// <summary>A rate card version, or the highest version when <paramref name="version"/> is null; null when none.</summary>
    Task<RateCard?> GetRateCardAsync(string name, int? version = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends entries atomically (all or none) and returns them with their ids; returns null, appending none, when
    /// one of their keys exists already. The grant of every entry must exist.
    /// </summary>
    Task<IReadOnlyList<LedgerEntry>?> TryAppendAsync(IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken = default);

    /// <summary>
    /// Places a hold (<paramref name="hold"/>: kind <see cref="LedgerEntryKind.Hold"/>, negative amount, a job id, key
    /// <c>hold:{job}</c>) when the grant's spendable balance covers it, atomically with that check, so parallel holds
    /// never overdraw a grant.
    /// </summary>
    Task<HoldResult> TryPlaceHoldAsync(LedgerEntry hold, CancellationToken cancellationToken = default);

    /// <summary>Releases the job's active hold, if any, returning the release entry (null when there was none).</summary>
    Task<LedgerEntry?> ReleaseHoldAsync(string jobId, DateTimeOffset at, string? actor, string? reason, CancellationToken cancellationToken = default);

    /// <summary>
    /// Charges a job once: appends <paramref name="charge"/> (key <c>charge:{job}</c>) and releases the job's active hold
    /// in one transaction. Returns <see langword="false"/>, changing nothing, when the job was charged already.
    /// </summary>
    Task<bool> TryChargeAsync(LedgerEntry charge, CancellationToken cancellationToken = default);

    /// <summary>The job's active (unreleased) hold, or null.</summary>
    Task<LedgerEntry?> GetActiveHoldAsync(string jobId, CancellationToken cancellationToken = default);

    /// <summary>Entries matching the query, in ledger order.</summary>
    Task<IReadOnlyList<LedgerEntry>> GetEntriesAsync(LedgerQuery query, CancellationToken cancellationToken = default);

    /// <summary>The grant's balances derived from its entries (those before <paramref name="asOf"/> when set); null when the grant does not exist.</summary>
    Task<GrantBalance?> GetBalanceAsync(string grantCode, DateTimeOffset? asOf = null, CancellationToken cancellationToken = default);
}

namespace CompGrid.Billing;

/// <summary>
/// Durable storage of grants, rate cards and the ledger: atomic primitives only. The ledger's rules (hold and charge
/// idempotency, the spendable check, which hold a charge releases) live once in <see cref="GrantBillingService"/>
/// and reach the store as the condition of a <see cref="LedgerWrite"/>. The ledger is append-only: entries are never
/// updated or deleted, balances are derived from entries. Every method is atomic and safe under concurrent use by
/// several threads and several processes sharing the store; keys (<see cref="LedgerEntry.Key"/>) are unique.
/// <c>BillingStoreConformanceTests</c> in the CompGrid.Testing package is the suite an
/// implementation passes; <see cref="DbBillingStore"/> is a base for stores on ADO.NET databases.
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

    /// <summary>Every grant, by code (ordinal).</summary>
    Task<IReadOnlyList<Grant>> ListGrantsAsync(CancellationToken cancellationToken = default);

    /// <summary>Stores a rate card version; returns <see langword="false"/> when that name and version exist (it is not replaced).</summary>
    Task<bool> TrySaveRateCardAsync(RateCard card, CancellationToken cancellationToken = default);

    /// <summary>A rate card version, or the highest version when <paramref name="version"/> is null; null when none.</summary>
    Task<RateCard?> GetRateCardAsync(string name, int? version = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// In one transaction that excludes every other write to the grant: reads the <see cref="LedgerState"/> of
    /// <see cref="LedgerWrite.GrantCode"/> (and of <see cref="LedgerWrite.JobId"/>), calls
    /// <see cref="LedgerWrite.Decide"/> once with it, and appends the entries it returns, all or none. Appends nothing
    /// when the grant does not exist, when the condition returns no entry, or when one of the entries' keys exists
    /// already (see <see cref="LedgerWriteStatus"/>).
    /// </summary>
    Task<LedgerWriteResult> WriteAsync(LedgerWrite write, CancellationToken cancellationToken = default);

    /// <summary>Entries matching the query, in ledger order.</summary>
    Task<IReadOnlyList<LedgerEntry>> GetEntriesAsync(LedgerQuery query, CancellationToken cancellationToken = default);

    /// <summary>The grant's balances derived from its entries (those before <paramref name="asOf"/> when set); null when the grant does not exist.</summary>
    Task<GrantBalance?> GetBalanceAsync(string grantCode, DateTimeOffset? asOf = null, CancellationToken cancellationToken = default);
}

namespace CompGrid.Billing;

/// <summary>
/// A billing store in memory, for tests and scripts: nothing survives the process. One lock serializes every
/// operation, so holds and charges are atomic exactly as in the durable stores.
/// </summary>
public sealed class InMemoryBillingStore : IBillingStore
{
    private readonly object _gate = new();
    private readonly SortedDictionary<string, Grant> _grants = new(StringComparer.Ordinal);
    private readonly Dictionary<(string, int), RateCard> _cards = [];
    private readonly List<LedgerEntry> _entries = [];
    private readonly HashSet<string> _keys = new(StringComparer.Ordinal);

    /// <inheritdoc/>
    public Task InitializeAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <inheritdoc/>
    public Task<bool> TryCreateGrantAsync(Grant grant, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grant);
        lock (_gate) return Task.FromResult(_grants.TryAdd(grant.Code, BillingSerialization.Clone(grant)));
    }

    /// <inheritdoc/>
    public Task<bool> TryUpdateGrantAsync(Grant grant, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grant);
        lock (_gate)
        {
            if (!_grants.ContainsKey(grant.Code)) return Task.FromResult(false);
            _grants[grant.Code] = BillingSerialization.Clone(grant);
            return Task.FromResult(true);
        }
    }

    /// <inheritdoc/>
    public Task<Grant?> GetGrantAsync(string code, CancellationToken cancellationToken = default)
    {
        lock (_gate) return Task.FromResult(_grants.TryGetValue(code, out var g) ? g : null);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<Grant>> ListGrantsAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate) return Task.FromResult<IReadOnlyList<Grant>>(_grants.Values.ToList());
    }

    /// <inheritdoc/>
    public Task<bool> TrySaveRateCardAsync(RateCard card, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(card);
        lock (_gate) return Task.FromResult(_cards.TryAdd((card.Name, card.Version), BillingSerialization.Clone(card)));
    }

    /// <inheritdoc/>
    public Task<RateCard?> GetRateCardAsync(string name, int? version = null, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var card = version is { } v
                ? _cards.GetValueOrDefault((name, v))
                : _cards.Where(kv => kv.Key.Item1 == name).OrderByDescending(kv => kv.Key.Item2).Select(kv => kv.Value).FirstOrDefault();
            return Task.FromResult(card is null ? null : BillingSerialization.Clone(card));
        }
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<LedgerEntry>?> TryAppendAsync(IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        lock (_gate)
        {
            var keys = new HashSet<string>(StringComparer.Ordinal);
            foreach (var e in entries)
            {
                if (!_grants.ContainsKey(e.GrantCode)) throw new CompGridException($"Grant '{e.GrantCode}' was not found.") { Code = "unknown-grant" };
                if (e.Key is { } k && (_keys.Contains(k) || !keys.Add(k))) return Task.FromResult<IReadOnlyList<LedgerEntry>?>(null);
            }
            return Task.FromResult<IReadOnlyList<LedgerEntry>?>(entries.Select(AppendLocked).ToList());
        }
    }

    /// <inheritdoc/>
    public Task<HoldResult> TryPlaceHoldAsync(LedgerEntry hold, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hold);
        lock (_gate)
        {
            if (!_grants.TryGetValue(hold.GrantCode, out var grant)) return Task.FromResult(new HoldResult(HoldStatus.GrantNotFound, null, 0));
            var spendable = BalanceLocked(grant, null).Spendable;
            if (hold.Key is { } k && _keys.Contains(k))
                return Task.FromResult(new HoldResult(HoldStatus.AlreadyExists, ActiveHoldLocked(hold.JobId), spendable));
            if (hold.JobId is { } job && _keys.Contains("charge:" + job))
                return Task.FromResult(new HoldResult(HoldStatus.AlreadyExists, null, spendable));
            if (spendable < -hold.Amount) return Task.FromResult(new HoldResult(HoldStatus.InsufficientFunds, null, spendable));
            return Task.FromResult(new HoldResult(HoldStatus.Placed, AppendLocked(hold), spendable));
        }
    }

    /// <inheritdoc/>
    public Task<LedgerEntry?> ReleaseHoldAsync(string jobId, DateTimeOffset at, string? actor, string? reason, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var hold = ActiveHoldLocked(jobId);
            return Task.FromResult(hold is null ? null : AppendLocked(LedgerEntry.ReleaseOf(hold, at, actor, reason)));
        }
    }

    /// <inheritdoc/>
    public Task<bool> TryChargeAsync(LedgerEntry charge, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(charge);
        lock (_gate)
        {
            if (!_grants.ContainsKey(charge.GrantCode)) throw new CompGridException($"Grant '{charge.GrantCode}' was not found.") { Code = "unknown-grant" };
            if (charge.Key is { } k && _keys.Contains(k)) return Task.FromResult(false);
            AppendLocked(charge);
            if (charge.JobId is { } job && ActiveHoldLocked(job) is { } hold)
                AppendLocked(LedgerEntry.ReleaseOf(hold, charge.At, charge.Actor, "charged"));
            return Task.FromResult(true);
        }
    }

    /// <inheritdoc/>
    public Task<LedgerEntry?> GetActiveHoldAsync(string jobId, CancellationToken cancellationToken = default)
    {
        lock (_gate) return Task.FromResult(ActiveHoldLocked(jobId));
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<LedgerEntry>> GetEntriesAsync(LedgerQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyList<LedgerEntry>>(_entries.Where(e =>
                (query.GrantCode is null || e.GrantCode == query.GrantCode) && (query.JobId is null || e.JobId == query.JobId) &&
                (query.From is null || e.At >= query.From) && (query.To is null || e.At < query.To)).ToList());
        }
    }

    /// <inheritdoc/>
    public Task<GrantBalance?> GetBalanceAsync(string grantCode, DateTimeOffset? asOf = null, CancellationToken cancellationToken = default)
    {
        lock (_gate) return Task.FromResult(_grants.TryGetValue(grantCode, out var g) ? BalanceLocked(g, asOf) : null);
    }

    private GrantBalance BalanceLocked(Grant grant, DateTimeOffset? asOf) =>
        GrantBalance.FromEntries(grant.Code, grant.Currency, grant.CreditLimit, _entries.Where(e => e.GrantCode == grant.Code && (asOf is null || e.At < asOf)));

    private LedgerEntry? ActiveHoldLocked(string? jobId)
    {
        if (jobId is null) return null;
        var hold = _entries.LastOrDefault(e => e.Kind == LedgerEntryKind.Hold && e.JobId == jobId);
        return hold is null || _keys.Contains(LedgerEntry.ReleaseKey(hold.Id)) ? null : hold;
    }

    private LedgerEntry AppendLocked(LedgerEntry entry)
    {
        var stored = entry with { Id = _entries.Count + 1 };
        _entries.Add(stored);
        if (stored.Key is { } k) _keys.Add(k);
        return stored;
    }
}

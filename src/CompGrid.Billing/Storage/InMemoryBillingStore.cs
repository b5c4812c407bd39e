namespace CompGrid.Billing;

/// <summary>
/// A billing store in memory, for tests and scripts: nothing survives the process. One lock serializes every
/// operation, so guarded writes are atomic exactly as in the durable stores.
/// </summary>
public sealed class InMemoryBillingStore : IBillingStore
{
    private readonly Lock _gate = new();
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
        lock (_gate) return Task.FromResult(_grants.TryGetValue(code, out var g) ? BillingSerialization.Clone(g) : null);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<Grant>> ListGrantsAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate) return Task.FromResult<IReadOnlyList<Grant>>(_grants.Values.Select(BillingSerialization.Clone).ToList());
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
    public Task<LedgerWriteResult> WriteAsync(LedgerWrite write, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(write);
        lock (_gate)
        {
            if (!_grants.TryGetValue(write.GrantCode, out var grant)) return Task.FromResult(new LedgerWriteResult(LedgerWriteStatus.GrantNotFound, [], null));
            var jobEntries = write.JobId is { } job ? _entries.Where(e => e.JobId == job).ToList() : [];
            var state = new LedgerState(BillingSerialization.Clone(grant), BalanceLocked(grant, null), jobEntries);
            var entries = write.DecideChecked(state);
            if (entries.Count == 0) return Task.FromResult(new LedgerWriteResult(LedgerWriteStatus.Declined, [], state));
            var keys = new HashSet<string>(StringComparer.Ordinal);
            if (entries.Any(e => e.Key is { } k && (_keys.Contains(k) || !keys.Add(k))))
                return Task.FromResult(new LedgerWriteResult(LedgerWriteStatus.DuplicateKey, [], state));
            return Task.FromResult(new LedgerWriteResult(LedgerWriteStatus.Appended, entries.Select(AppendLocked).ToList(), state));
        }
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

    private LedgerEntry AppendLocked(LedgerEntry entry)
    {
        var stored = entry with { Id = _entries.Count + 1 };
        _entries.Add(stored);
        if (stored.Key is { } k) _keys.Add(k);
        return stored;
    }
}

namespace CompGrid.Ordering;

/// <summary>
/// Decayed historical usage per (account, user) association, the input of fair share. Fed by job usage records (it is
/// an <see cref="IUsageSink"/>, idempotent by job id) or directly with <see cref="AddUsage"/>. Usage decays
/// continuously with the configured half-life: after one half-life without new usage it counts half. Thread-safe.
/// </summary>
/// <remarks>
/// With an <see cref="IFairShareUsageStore"/> (the SQL job stores) the store holds the usage and this is its cache:
/// each ended job is charged there once (by job id, in the store's group-committed transactions) and the row the store
/// returns replaces the association's entry; <see cref="StartAsync"/> loads every row and then reloads them every
/// <see cref="FairShareOptions.RefreshInterval"/>, so an instance sees what others on the database charged. A row
/// replaces an entry only when it counts at least as many charges, so a slow reload never undoes a newer charge.
/// Decay is computed from the stored times on the injected clock.
/// </remarks>
internal sealed class FairShareLedger : IUsageSink, IDisposable
{
    private readonly object _gate = new();
    private readonly Dictionary<(string Account, string User), Entry> _usage = [];
    private readonly HashSet<string> _recordedJobs = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly FairShareOptions _options;
    private readonly Lazy<IFairShareUsageStore?> _storeOnce;
    private readonly Microsoft.Extensions.Logging.ILogger _logger;
    private ITimer? _refresh;
    private int _refreshing;
    private long _version;

    private sealed class Entry
    {
        public double Value;
        public DateTimeOffset At;
        public long Charges;
    }

    /// <summary>Creates a ledger; with <paramref name="store"/>, one whose usage is stored there and survives restarts.</summary>
    public FairShareLedger(FairShareOptions? options = null, TimeProvider? timeProvider = null, IFairShareUsageStore? store = null,
        Microsoft.Extensions.Logging.ILogger? logger = null)
        : this(options, timeProvider, () => store, logger)
    {
    }

    /// <summary>
    /// Creates a ledger whose store is found on first use (DI: the job store is resolved only once the engine needs it,
    /// so a container without one — the simulator — still builds the policies).
    /// </summary>
    public FairShareLedger(FairShareOptions? options, TimeProvider? timeProvider, Func<IFairShareUsageStore?> store,
        Microsoft.Extensions.Logging.ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        _options = options ?? new FairShareOptions();
        _time = timeProvider ?? TimeProvider.System;
        _storeOnce = new Lazy<IFairShareUsageStore?>(store);
        _logger = logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    }

    private IFairShareUsageStore? Store => _storeOnce.Value;

    /// <summary>Whether usage is kept in a store (and so survives restarts and is shared by instances).</summary>
    public bool IsStored => Store is not null;

    /// <summary>
    /// Loads the stored usage and starts reloading it every <see cref="FairShareOptions.RefreshInterval"/> on the
    /// injected clock. Does nothing without a store. Called by the engine at start-up, after the store is initialised.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Store is null) return;
        await RefreshAsync(cancellationToken).ConfigureAwait(false);
        TimeSpan every = _options.RefreshInterval;
        if (every > TimeSpan.Zero && _refresh is null)
            _refresh = _time.CreateTimer(static s => ((FairShareLedger)s!).RefreshInBackground(), this, every, every);
    }

    /// <summary>Reloads every association's usage from the store (what this and every other instance charged).</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken = default)
    {
        if (Store is null) return;
        IReadOnlyList<FairShareUsage> rows = await Store.GetFairShareUsageAsync(cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            bool changed = false;
            foreach (FairShareUsage row in rows) changed |= ApplyStored(row);
            if (changed) _version++;
        }
    }

    private async void RefreshInBackground()
    {
        // One reload at a time; a failed reload keeps the cached usage and is retried at the next tick.
        if (Interlocked.Exchange(ref _refreshing, 1) == 1) return;
        try { await RefreshAsync().ConfigureAwait(false); }
        catch (Exception ex) when (ex is CompGridException or System.Data.Common.DbException or InvalidOperationException or IOException or ObjectDisposedException)
        {
            Log.FairShareRefreshFailed(_logger, ex);
        }
        finally { Volatile.Write(ref _refreshing, 0); }
    }

    // Under _gate. A stored row replaces the cached entry unless the entry already counts more charges.
    private bool ApplyStored(FairShareUsage row)
    {
        var key = (row.Account, row.User);
        if (!_usage.TryGetValue(key, out Entry? e)) _usage[key] = e = new Entry { Charges = -1 };
        if (row.Charges < e.Charges || (row.Charges == e.Charges && row.Usage.Equals(e.Value) && row.At == e.At)) return false;
        e.Value = row.Usage; e.At = row.At; e.Charges = row.Charges;
        return true;
    }

    /// <summary>Stops the periodic reload.</summary>
    public void Dispose() => _refresh?.Dispose();

    /// <summary>The settings (half-life, default account).</summary>
    public FairShareOptions Options => _options;

    /// <summary>Incremented whenever usage is added, so cached fair-share factors know to recompute.</summary>
    public long Version { get { lock (_gate) return _version; } }

    /// <summary>The decay multiplier for an interval: <c>2^(-interval / half-life)</c>.</summary>
    public double DecayFactor(TimeSpan interval) =>
        interval <= TimeSpan.Zero ? 1 : Math.Pow(2, -interval.TotalSeconds / _options.UsageHalfLife.TotalSeconds);

    /// <summary>Adds <paramref name="amount"/> (CPU-seconds, or any consistent unit) used by an association at time <paramref name="at"/>.</summary>
    public void AddUsage(string? account, string user, double amount, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(user);
        if (amount <= 0 || double.IsNaN(amount)) return;
        var key = (account ?? _options.DefaultAccount, user);
        lock (_gate)
        {
            if (!_usage.TryGetValue(key, out Entry? e)) _usage[key] = e = new Entry { At = at };
            if (at >= e.At) { e.Value = e.Value * DecayFactor(at - e.At) + amount; e.At = at; }
            else e.Value += amount * DecayFactor(e.At - at);
            _version++;
        }
    }

    /// <summary>The decayed usage of every association as of <paramref name="now"/>.</summary>
    public IReadOnlyDictionary<(string Account, string User), double> GetUsage(DateTimeOffset now)
    {
        lock (_gate)
        {
            var result = new Dictionary<(string, string), double>(_usage.Count);
            foreach (var (k, e) in _usage) result[k] = e.Value * DecayFactor(now - e.At);
            return result;
        }
    }

    /// <summary>Forgets all usage.</summary>
    public void Reset()
    {
        lock (_gate) { _usage.Clear(); _recordedJobs.Clear(); _version++; }
    }

    /// <inheritdoc/>
    public ValueTask RecordAsync(UsageRecord usage, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(usage);
        double seconds = usage.Elapsed.TotalSeconds;
        double amount = usage.AllocatedCpus * seconds + _options.GpuSecondWeight * usage.AllocatedGpus * seconds;
        DateTimeOffset at = usage.EndedAt ?? _time.GetUtcNow();
        if (Store is not null) return ChargeStoreAsync(usage.JobId, usage.Account ?? _options.DefaultAccount, usage.User, amount, at, cancellationToken);
        lock (_gate)
        {
            if (!_recordedJobs.Add(usage.JobId)) return ValueTask.CompletedTask;
        }
        AddUsage(usage.Account, usage.User, amount, at);
        return ValueTask.CompletedTask;
    }

    private async ValueTask ChargeStoreAsync(string jobId, string account, string user, double amount, DateTimeOffset at, CancellationToken ct)
    {
        if (amount <= 0 || double.IsNaN(amount)) return;
        var charge = new FairShareUsage { Account = account, User = user, Usage = amount, At = at };
        FairShareUsage? stored = await Store!.TryChargeFairShareAsync(jobId, charge, _options.UsageHalfLife, ct).ConfigureAwait(false);
        if (stored is null) return; // charged before (a redelivery, or another instance)
        lock (_gate)
        {
            if (ApplyStored(stored)) _version++;
        }
    }
}

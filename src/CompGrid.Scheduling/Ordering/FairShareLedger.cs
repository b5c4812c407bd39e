namespace CompGrid.Ordering;

/// <summary>
/// Decayed historical usage per (account, user) association, the input of fair share. Fed by job usage records (it is
/// an <see cref="IUsageSink"/>, idempotent by job id) or directly with <see cref="AddUsage"/>. Usage decays
/// continuously with the configured half-life: after one half-life without new usage it counts half. Thread-safe.
/// </summary>
internal sealed class FairShareLedger : IUsageSink
{
    private readonly object _gate = new();
    private readonly Dictionary<(string Account, string User), Entry> _usage = [];
    private readonly HashSet<string> _recordedJobs = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly FairShareOptions _options;
    private long _version;

    private sealed class Entry
    {
        public double Value;
        public DateTimeOffset At;
    }

    /// <summary>Creates a ledger.</summary>
    public FairShareLedger(FairShareOptions? options = null, TimeProvider? timeProvider = null)
    {
        _options = options ?? new FairShareOptions();
        _time = timeProvider ?? TimeProvider.System;
    }

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
        lock (_gate)
        {
            if (!_recordedJobs.Add(usage.JobId)) return ValueTask.CompletedTask;
        }
        double seconds = usage.Elapsed.TotalSeconds;
        double amount = usage.AllocatedCpus * seconds + _options.GpuSecondWeight * usage.AllocatedGpus * seconds;
        AddUsage(usage.Account, usage.User, amount, usage.EndedAt ?? _time.GetUtcNow());
        return ValueTask.CompletedTask;
    }
}

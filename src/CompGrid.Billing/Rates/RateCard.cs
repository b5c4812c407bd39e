namespace CompGrid.Billing;

/// <summary>
/// A versioned price list. Jobs are charged at the version their quote used (recorded on the hold), so publishing a
/// new version never changes the price of a job already admitted. A card holds rules (prices by backend, partition
/// and node class), QOS multipliers, time-of-day and weekend multipliers.
/// </summary>
public sealed record RateCard
{
    /// <summary>The card's name. The default is <c>default</c>.</summary>
    public string Name { get; init; } = "default";

    /// <summary>The version (1, 2, …); a higher version supersedes a lower one. The default is 1.</summary>
    public int Version { get; init; } = 1;

    /// <summary>When this version takes effect (informational; the highest stored version is current).</summary>
    public DateTimeOffset? EffectiveFrom { get; init; }

    /// <summary>The currency of every price on the card; grants charged with it must use the same currency. The default is <c>CRD</c>.</summary>
    public string Currency { get; init; } = "CRD";

    /// <summary>The prices, most specific matching rule first (see <see cref="RateRule"/>).</summary>
    public IList<RateRule> Rules { get; init; } = [];

    /// <summary>Multipliers by QOS name, for example <c>premium</c> 2.0 and <c>scavenger</c> 0.5; a QOS not listed costs 1.0.</summary>
    public IDictionary<string, decimal> QosMultipliers { get; init; } = new Dictionary<string, decimal>(StringComparer.OrdinalIgnoreCase);

    /// <summary>The multiplier for Saturdays and Sundays, or null for none. Takes precedence over <see cref="TimeMultipliers"/>.</summary>
    public decimal? WeekendMultiplier { get; init; }

    /// <summary>Time-of-day multipliers (cheap night hours); the first window that contains an instant applies, otherwise 1.0.</summary>
    public IList<TimeMultiplier> TimeMultipliers { get; init; } = [];

    /// <summary>The time zone the hours and weekends are read in (an IANA id). The default is <c>UTC</c>.</summary>
    public string TimeZone { get; init; } = "UTC";

    /// <summary>Node name patterns (a trailing or leading <c>*</c> matches anything) to node classes, for rules by node class.</summary>
    public IDictionary<string, string> NodeClasses { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The node class of <paramref name="node"/>, or null.</summary>
    public string? NodeClassOf(string node)
    {
        ArgumentNullException.ThrowIfNull(node);
        foreach (var (pattern, cls) in NodeClasses)
        {
            if (Matches(pattern, node)) return cls;
        }
        return null;
    }

    private static bool Matches(string pattern, string value)
    {
        if (pattern == "*") return true;
        if (pattern.EndsWith('*')) return value.StartsWith(pattern[..^1], StringComparison.Ordinal);
        if (pattern.StartsWith('*')) return value.EndsWith(pattern[1..], StringComparison.Ordinal);
        return string.Equals(pattern, value, StringComparison.Ordinal);
    }

    /// <summary>A card charging <paramref name="perCpuHour"/> per CPU core-hour and nothing else.</summary>
    public static RateCard PerCpuHour(decimal perCpuHour, string currency = "CRD") =>
        new() { Currency = currency, Rules = [new RateRule { CpuCoreHour = perCpuHour }] };

    /// <inheritdoc/>
    public override string ToString() => $"{Name} v{Version} ({Currency}, {Rules.Count} rules)";
}

/// <summary>
/// Prices for the jobs a selector matches. A rule matches when each of its non-null selectors
/// (<see cref="Backend"/>, <see cref="Partition"/>, <see cref="NodeClass"/>) equals the job's; the most specific
/// matching rule (most selectors set) wins, ties going to the earlier rule. A rule with no selector is the default.
/// Amounts are exact: <c>quantity × price × seconds / 3600</c>.
/// </summary>
public sealed record RateRule
{
    /// <summary>A name shown on statements (for example <c>gpu-a100</c>), or null.</summary>
    public string? Name { get; init; }

    /// <summary>Only jobs on this backend, or null for any.</summary>
    public string? Backend { get; init; }

    /// <summary>Only jobs in this partition, or null for any.</summary>
    public string? Partition { get; init; }

    /// <summary>Only jobs on nodes of this class (see <see cref="RateCard.NodeClasses"/>), or null for any.</summary>
    public string? NodeClass { get; init; }

    /// <summary>The price per CPU core-hour. The default is 0.</summary>
    public decimal CpuCoreHour { get; init; }

    /// <summary>The price per GiB-hour of allocated memory (1 GiB = 1024 MiB). The default is 0.</summary>
    public decimal MemoryGbHour { get; init; }

    /// <summary>The price per GPU-hour for models not in <see cref="GpuHourByModel"/>. The default is 0.</summary>
    public decimal GpuHour { get; init; }

    /// <summary>The price per GPU-hour by GPU model (case-insensitive), for example <c>a100</c>.</summary>
    public IDictionary<string, decimal> GpuHourByModel { get; init; } = new Dictionary<string, decimal>(StringComparer.OrdinalIgnoreCase);

    /// <summary>A fixed fee per job that ran (not multiplied). The default is 0.</summary>
    public decimal PerJobFee { get; init; }

    /// <summary>
    /// Slurm <c>TRESBillingWeights</c> (for example <c>CPU=1.0,Mem=0.25G,GRES/gpu=2.0</c>), or null. When set, the job
    /// is priced in billing units: <c>billing × hours × <see cref="BillingUnitHour"/></c>, replacing the CPU, memory
    /// and GPU prices.
    /// </summary>
    public string? BillingWeights { get; init; }

    /// <summary>How weighted TRES are combined. The default is <see cref="TresBillingMode.Sum"/>.</summary>
    public TresBillingMode BillingMode { get; init; } = TresBillingMode.Sum;

    /// <summary>
    /// Whether a charge uses the billing units the backend reported (Slurm's <c>billing</c> TRES in
    /// <see cref="UsageRecord.Tres"/>, computed with the site's own weights) instead of computing them from
    /// <see cref="BillingWeights"/>. Quotes still use <see cref="BillingWeights"/>, or one unit per CPU without them
    /// (Slurm's default). The default is <see langword="false"/>.
    /// </summary>
    public bool UseReportedBilling { get; init; }

    /// <summary>The price per billing unit-hour when <see cref="BillingWeights"/> or <see cref="UseReportedBilling"/> is set. The default is 1.</summary>
    public decimal BillingUnitHour { get; init; } = 1m;

    internal int Specificity => (Backend is null ? 0 : 1) + (Partition is null ? 0 : 1) + (NodeClass is null ? 0 : 1);

    /// <inheritdoc/>
    public override string ToString() =>
        Name ?? $"{Backend ?? "*"}/{Partition ?? "*"}/{NodeClass ?? "*"}";
}

/// <summary>A time-of-day window with a price multiplier.</summary>
public sealed record TimeMultiplier
{
    /// <summary>The days the window applies on; empty for every day.</summary>
    public IList<DayOfWeek> Days { get; init; } = [];

    /// <summary>The first hour of the window (0–23).</summary>
    public int FromHour { get; init; }

    /// <summary>The hour the window ends (exclusive, 1–24); a value not above <see cref="FromHour"/> wraps past midnight (22 → 6).</summary>
    public int ToHour { get; init; } = 24;

    /// <summary>The multiplier, for example 0.5 at night.</summary>
    public decimal Multiplier { get; init; } = 1m;

    internal bool Contains(DateTime local)
    {
        if (Days.Count > 0 && !Days.Contains(local.DayOfWeek)) return false;
        var h = local.Hour;
        return FromHour < ToHour ? h >= FromHour && h < ToHour : h >= FromHour || h < ToHour;
    }
}

namespace CompGrid.Billing;

/// <summary>What is priced: the resources of a job, where it runs and for how long.</summary>
public sealed record PricingRequest
{
    /// <summary>The backend, or null when not known yet (a quote then takes the highest matching price).</summary>
    public string? Backend { get; init; }

    /// <summary>The partition, or null.</summary>
    public string? Partition { get; init; }

    /// <summary>The node class, or null (derived from <see cref="NodeNames"/> through <see cref="RateCard.NodeClasses"/> when possible).</summary>
    public string? NodeClass { get; init; }

    /// <summary>The nodes the job ran on (charges).</summary>
    public IReadOnlyList<string> NodeNames { get; init; } = [];

    /// <summary>The QOS, or null.</summary>
    public string? Qos { get; init; }

    /// <summary>Total CPUs.</summary>
    public int Cpus { get; init; }

    /// <summary>Total memory in MiB.</summary>
    public long MemoryMiB { get; init; }

    /// <summary>Total GPUs.</summary>
    public int Gpus { get; init; }

    /// <summary>The GPU model, or null.</summary>
    public string? GpuModel { get; init; }

    /// <summary>Number of nodes. The default is 1.</summary>
    public int Nodes { get; init; } = 1;

    /// <summary>Other TRES counts (licenses, burst buffer) for rules priced by TRES billing weights.</summary>
    public IReadOnlyDictionary<string, decimal> ExtraTres { get; init; } = new Dictionary<string, decimal>();

    /// <summary>Billing units the backend reported (Slurm's <c>billing</c> TRES), for rules with <see cref="RateRule.UseReportedBilling"/>.</summary>
    public decimal? ReportedBillingUnits { get; init; }

    /// <summary>When the job starts (a charge: when it started).</summary>
    public DateTimeOffset Start { get; init; }

    /// <summary>How long: the walltime limit for a quote, the elapsed time for a charge.</summary>
    public TimeSpan Duration { get; init; }
}

/// <summary>
/// Prices jobs with a <see cref="RateCard"/>. Pure and exact: <c>amount = quantity × unit price × multiplier ×
/// seconds / 3600</c>, multiplied before dividing so that whole-second prices stay exact. A <b>quote</b> is the maximum
/// cost (unknown backend, partition or node class take the most expensive matching rule; the time-of-day multiplier is
/// the highest on the card); a <b>charge</b> prices what ran (the time-of-day multiplier weighted over the run).
/// </summary>
public static class RateCalculator
{
    /// <summary>The maximum cost of a job that has not run yet.</summary>
    public static CostBreakdown Quote(RateCard card, PricingRequest request) => Price(card, request, quote: true);

    /// <summary>The cost of what a job used.</summary>
    public static CostBreakdown Charge(RateCard card, PricingRequest request) => Price(card, request, quote: false);

    private static CostBreakdown Price(RateCard card, PricingRequest request, bool quote)
    {
        ArgumentNullException.ThrowIfNull(card);
        ArgumentNullException.ThrowIfNull(request);
        var nodeClass = request.NodeClass ?? request.NodeNames.Select(card.NodeClassOf).FirstOrDefault(c => c is not null);
        var candidates = Candidates(card, request.Backend, request.Partition, nodeClass, quote);
        if (candidates.Count == 0)
            throw new CompGridException(
                $"Rate card '{card.Name}' v{card.Version} has no rule for backend '{request.Backend ?? "*"}', partition '{request.Partition ?? "*"}', node class '{nodeClass ?? "*"}'; add a default rule (no selectors).")
            { Code = CompGridErrorCodes.NoRate, Operation = "price" };
        CostBreakdown? best = null;
        foreach (var rule in candidates)
        {
            var priced = PriceWithRule(card, rule, request, quote);
            if (best is null || priced.ExactTotal > best.ExactTotal) best = priced;
        }
        return best!;
    }

    private static List<RateRule> Candidates(RateCard card, string? backend, string? partition, string? nodeClass, bool quote)
    {
        static bool Fits(string? selector, string? value, bool unknownMatchesAny) =>
            selector is null || (value is null ? unknownMatchesAny : string.Equals(selector, value, StringComparison.OrdinalIgnoreCase));
        var matching = card.Rules.Where(r => Fits(r.Backend, backend, quote) && Fits(r.Partition, partition, quote) && Fits(r.NodeClass, nodeClass, quote)).ToList();
        if (matching.Count == 0) return matching;
        if (quote && (backend is null || partition is null || nodeClass is null))
        {
            // Something is unknown: the job may end up under any of these rules, so the quote takes the dearest.
            // Rules shadowed by a more specific rule for the same known values are still possible outcomes.
            return matching;
        }
        var top = matching.Max(r => r.Specificity);
        return [matching.First(r => r.Specificity == top)];
    }

    private static CostBreakdown PriceWithRule(RateCard card, RateRule rule, PricingRequest request, bool quote)
    {
        var seconds = (decimal)request.Duration.Ticks / TimeSpan.TicksPerSecond;
        if (seconds < 0) throw new ArgumentOutOfRangeException(nameof(request), "The duration must not be negative.");
        var qos = request.Qos is { } q && Lookup(card.QosMultipliers, q) is { } qm ? qm : 1m;
        // Effective seconds: Σ segment seconds × time-of-day multiplier (exact for whole-hour windows).
        var effective = quote ? seconds * MaxTimeMultiplier(card) : WeightedSeconds(card, request.Start, request.Duration);
        var timeMultiplier = seconds == 0 ? 1m : effective / seconds;
        var hours = seconds / 3600m;
        var components = new List<CostComponent>();
        decimal? billingUnits = null;

        void Add(string resource, decimal quantity, decimal price)
        {
            if (quantity == 0 || price == 0) return;
            components.Add(new CostComponent
            {
                Resource = resource, Quantity = quantity, Hours = hours, UnitPrice = price, Multiplier = qos * timeMultiplier,
                Amount = quantity * price * effective * qos / 3600m,
            });
        }

        if (rule.BillingWeights is not null || rule.UseReportedBilling)
        {
            if (!quote && rule.UseReportedBilling && request.ReportedBillingUnits is { } reported)
            {
                billingUnits = reported;
            }
            else if (rule.BillingWeights is { } weights)
            {
                var counts = TresBillingWeights.Counts(request.Cpus, request.MemoryMiB, request.Nodes, request.Gpus, request.GpuModel);
                foreach (var (k, v) in request.ExtraTres) counts[k] = v;
                billingUnits = TresBillingWeights.Parse(weights).Compute(counts, rule.BillingMode);
            }
            else
            {
                billingUnits = request.Cpus; // Slurm's billing without weights: the CPU count
            }
            Add("billing", billingUnits.Value, rule.BillingUnitHour);
        }
        else
        {
            Add("cpu", request.Cpus, rule.CpuCoreHour);
            Add("memory", request.MemoryMiB / 1024m, rule.MemoryGbHour);
            if (request.Gpus > 0)
            {
                var modelPrice = request.GpuModel is { } m ? Lookup(rule.GpuHourByModel, m) : null;
                if (modelPrice is null && quote && request.GpuModel is null && rule.GpuHourByModel.Count > 0)
                    modelPrice = Math.Max(rule.GpuHour, rule.GpuHourByModel.Values.Max()); // any model may be given
                Add(request.GpuModel is null ? "gpu" : "gpu:" + request.GpuModel.ToLowerInvariant(), request.Gpus, modelPrice ?? rule.GpuHour);
            }
        }
        if (rule.PerJobFee != 0 && (quote || seconds > 0))
            components.Add(new CostComponent { Resource = "fee", Quantity = 1, Hours = 0, UnitPrice = rule.PerJobFee, Multiplier = 1m, Amount = rule.PerJobFee });

        return new CostBreakdown
        {
            RateCard = card.Name, RateCardVersion = card.Version, Rule = rule.ToString(), Currency = card.Currency,
            Backend = request.Backend, Partition = request.Partition, Qos = request.Qos,
            Cpus = request.Cpus, MemoryMiB = request.MemoryMiB, Gpus = request.Gpus, GpuModel = request.GpuModel, Nodes = request.Nodes,
            Hours = hours, QosMultiplier = qos, TimeMultiplier = timeMultiplier, BillingUnits = billingUnits,
            Components = components, ExactTotal = components.Sum(c => c.Amount),
        };
    }

    /// <summary>The multiplier in force at <paramref name="at"/>: the weekend multiplier on Saturdays and Sundays, else the first containing window, else 1.</summary>
    public static decimal TimeMultiplierAt(RateCard card, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(card);
        if (card.WeekendMultiplier is null && card.TimeMultipliers.Count == 0) return 1m;
        var local = TimeZoneInfo.ConvertTime(at, FindZone(card.TimeZone)).DateTime;
        return MultiplierAtLocal(card, local);
    }

    private static decimal MultiplierAtLocal(RateCard card, DateTime local)
    {
        if (card.WeekendMultiplier is { } weekend && local.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday) return weekend;
        foreach (var w in card.TimeMultipliers)
        {
            if (w.Contains(local)) return w.Multiplier;
        }
        return 1m;
    }

    private static decimal MaxTimeMultiplier(RateCard card)
    {
        if (card.WeekendMultiplier is null && card.TimeMultipliers.Count == 0) return 1m;
        var max = decimal.MinValue;
        var monday = new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Unspecified); // a Monday
        for (var h = 0; h < 7 * 24; h++) max = Math.Max(max, MultiplierAtLocal(card, monday.AddHours(h)));
        return max;
    }

    private static decimal WeightedSeconds(RateCard card, DateTimeOffset start, TimeSpan duration)
    {
        var total = (decimal)duration.Ticks / TimeSpan.TicksPerSecond;
        if (card.WeekendMultiplier is null && card.TimeMultipliers.Count == 0) return total;
        var zone = FindZone(card.TimeZone);
        // Walk the run in quarter-hour-aligned segments (every zone's hour starts on a UTC quarter hour).
        var quarter = TimeSpan.FromMinutes(15).Ticks;
        var t = start.ToUniversalTime();
        var end = t + duration;
        decimal effective = 0;
        while (t < end)
        {
            var nextTicks = (t.UtcTicks / quarter + 1) * quarter;
            var next = new DateTimeOffset(Math.Min(nextTicks, end.UtcTicks), TimeSpan.Zero);
            var local = TimeZoneInfo.ConvertTime(t, zone).DateTime;
            effective += (decimal)(next - t).Ticks / TimeSpan.TicksPerSecond * MultiplierAtLocal(card, local);
            t = next;
        }
        return effective;
    }

    private static decimal? Lookup(IDictionary<string, decimal> map, string key)
    {
        if (map.TryGetValue(key, out var v)) return v;
        foreach (var (k, value) in map)
        {
            if (string.Equals(k, key, StringComparison.OrdinalIgnoreCase)) return value;
        }
        return null;
    }

    private static TimeZoneInfo FindZone(string id) =>
        string.Equals(id, "UTC", StringComparison.OrdinalIgnoreCase) ? TimeZoneInfo.Utc : TimeZoneInfo.FindSystemTimeZoneById(id);
}

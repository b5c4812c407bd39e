namespace CompGrid.Billing;

/// <summary>One priced resource of a job: quantity × hours × price × multipliers.</summary>
public sealed record CostComponent
{
    /// <summary>The resource: <c>cpu</c>, <c>memory</c>, <c>gpu</c> (or <c>gpu:MODEL</c>), <c>billing</c> (TRES billing units) or <c>fee</c>.</summary>
    public string Resource { get; init; } = "";

    /// <summary>The quantity (cores, GiB, GPUs, billing units; 1 for a fee).</summary>
    public decimal Quantity { get; init; }

    /// <summary>The hours charged (wall hours; 0 for a fee).</summary>
    public decimal Hours { get; init; }

    /// <summary>The unit price (per unit-hour, or the fee).</summary>
    public decimal UnitPrice { get; init; }

    /// <summary>The combined QOS and time-of-day multiplier applied (1 for a fee).</summary>
    public decimal Multiplier { get; init; } = 1m;

    /// <summary>The exact (unrounded) amount.</summary>
    public decimal Amount { get; init; }

    /// <inheritdoc/>
    public override string ToString() => $"{Resource}: {Quantity} × {Hours} h × {UnitPrice} × {Multiplier} = {Amount}";
}

/// <summary>How an amount was computed: the rate card version and rule, the multipliers and one component per resource.</summary>
public sealed record CostBreakdown
{
    /// <summary>The rate card's name.</summary>
    public string RateCard { get; init; } = "";

    /// <summary>The rate card's version.</summary>
    public int RateCardVersion { get; init; }

    /// <summary>The rule that priced the job.</summary>
    public string Rule { get; init; } = "";

    /// <summary>The currency.</summary>
    public string Currency { get; init; } = "";

    /// <summary>The backend, partition and node class the job was priced for.</summary>
    public string? Backend { get; init; }

    /// <summary>The partition.</summary>
    public string? Partition { get; init; }

    /// <summary>The QOS.</summary>
    public string? Qos { get; init; }

    /// <summary>CPUs (total).</summary>
    public int Cpus { get; init; }

    /// <summary>Memory (total, MiB).</summary>
    public long MemoryMiB { get; init; }

    /// <summary>GPUs (total).</summary>
    public int Gpus { get; init; }

    /// <summary>The GPU model.</summary>
    public string? GpuModel { get; init; }

    /// <summary>Nodes.</summary>
    public int Nodes { get; init; }

    /// <summary>The wall hours priced (walltime limit for a quote, elapsed for a charge).</summary>
    public decimal Hours { get; init; }

    /// <summary>The QOS multiplier.</summary>
    public decimal QosMultiplier { get; init; } = 1m;

    /// <summary>The time-of-day multiplier (for a charge the time-weighted mean over the run; for a quote the highest on the card).</summary>
    public decimal TimeMultiplier { get; init; } = 1m;

    /// <summary>Slurm billing units, when the rule prices by TRES billing weights.</summary>
    public decimal? BillingUnits { get; init; }

    /// <summary>The components; their amounts add up to <see cref="ExactTotal"/>.</summary>
    public IReadOnlyList<CostComponent> Components { get; init; } = [];

    /// <summary>The exact total before rounding.</summary>
    public decimal ExactTotal { get; init; }

    /// <inheritdoc/>
    public override string ToString() => $"{ExactTotal} {Currency} ({RateCard} v{RateCardVersion}, {Rule}: {string.Join("; ", Components)})";
}

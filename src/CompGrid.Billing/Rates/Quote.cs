namespace CompGrid.Billing;

/// <summary>A request for a price: "what will this cost?" (the same computation as the hold at admission).</summary>
public sealed record QuoteRequest
{
    /// <summary>The grant the job would be charged to, or null to price without one.</summary>
    public string? Account { get; init; }

    /// <summary>The user who would submit it.</summary>
    public string? User { get; init; }

    /// <summary>The resources (per node, as in <see cref="JobSpec"/>).</summary>
    public ResourceRequest Resources { get; init; } = new();

    /// <summary>The walltime limit, or null for the configured default.</summary>
    public TimeSpan? Walltime { get; init; }

    /// <summary>The backend, or null when the engine will choose.</summary>
    public string? Backend { get; init; }

    /// <summary>The partition, or null.</summary>
    public string? Partition { get; init; }

    /// <summary>The QOS, or null.</summary>
    public string? Qos { get; init; }

    /// <summary>A quote request for a job specification.</summary>
    public static QuoteRequest FromJob(JobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new QuoteRequest
        {
            Account = spec.Account, User = spec.Owner, Resources = spec.Resources, Walltime = spec.Walltime,
            Backend = spec.Constraints.Backend, Partition = spec.Constraints.Partition, Qos = spec.Qos,
        };
    }
}

/// <summary>The price of a job before it runs: the maximum cost, which is also the hold placed at admission.</summary>
public sealed record Quote
{
    /// <summary>The grant, when one was named.</summary>
    public string? Account { get; init; }

    /// <summary>The currency.</summary>
    public string Currency { get; init; } = "";

    /// <summary>The maximum cost rounded up to the minor unit: the amount held at admission.</summary>
    public decimal Amount { get; init; }

    /// <summary>How it was computed (rate card version, rule, components).</summary>
    public CostBreakdown Breakdown { get; init; } = new();

    /// <summary>The grant's spendable balance (available + credit limit), when a grant was named.</summary>
    public decimal? Spendable { get; init; }

    /// <summary>Whether the grant can cover the quote now (null without a grant).</summary>
    public bool? Affordable => Spendable is null ? null : Spendable >= Amount;

    /// <inheritdoc/>
    public override string ToString() => $"{Amount} {Currency}{(Account is null ? "" : $" on {Account} (spendable {Spendable})")}";
}

/// <summary>What happened to a usage record.</summary>
public enum ChargeStatus
{
    /// <summary>The job was charged and its hold released.</summary>
    Charged,
    /// <summary>The job had been charged already; nothing changed.</summary>
    AlreadyCharged,
    /// <summary>The job never started: its hold was released and it costs nothing.</summary>
    Released,
    /// <summary>The job has no hold (it was admitted without a grant) or its grant does not exist; nothing was charged.</summary>
    NotBilled,
    /// <summary>The job's owner is no longer a member of the hold's grant: nothing was charged and the hold was released.</summary>
    Refused,
}

/// <summary>The outcome of charging one usage record.</summary>
/// <param name="Status">What happened.</param>
/// <param name="Amount">The amount charged (0 unless <see cref="ChargeStatus.Charged"/>).</param>
/// <param name="Breakdown">How it was computed, when charged.</param>
public sealed record ChargeResult(ChargeStatus Status, decimal Amount, CostBreakdown? Breakdown);

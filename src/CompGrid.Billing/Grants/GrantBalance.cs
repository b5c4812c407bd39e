namespace CompGrid.Billing;

/// <summary>
/// A grant's balances, derived from its ledger entries (never stored): <c>Available = Allocated + Adjusted −
/// Expired − Charged − Held</c>.
/// </summary>
public sealed record GrantBalance
{
    /// <summary>The grant.</summary>
    public string GrantCode { get; init; } = "";

    /// <summary>The currency.</summary>
    public string Currency { get; init; } = "";

    /// <summary>The sum of allocations (including carry-overs).</summary>
    public decimal Allocated { get; init; }

    /// <summary>The sum of adjustments (refunds positive, debits negative).</summary>
    public decimal Adjusted { get; init; }

    /// <summary>The sum of expired allocation remainders (positive).</summary>
    public decimal Expired { get; init; }

    /// <summary>The sum of charges (positive).</summary>
    public decimal Charged { get; init; }

    /// <summary>The sum of active holds (positive).</summary>
    public decimal Held { get; init; }

    /// <summary>The credit limit (overdraft) of the grant.</summary>
    public decimal CreditLimit { get; init; }

    /// <summary>The posted balance: allocations + adjustments − expirations − charges (holds excluded).</summary>
    public decimal Balance => Allocated + Adjusted - Expired - Charged;

    /// <summary>The available balance: the posted balance minus active holds.</summary>
    public decimal Available => Balance - Held;

    /// <summary>What a new hold may take: the available balance plus the credit limit.</summary>
    public decimal Spendable => Available + CreditLimit;

    /// <summary>Sums signed ledger entries into a balance.</summary>
    public static GrantBalance FromEntries(string grantCode, string currency, decimal creditLimit, IEnumerable<LedgerEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        decimal allocated = 0, adjusted = 0, expired = 0, charged = 0, held = 0;
        foreach (var e in entries)
        {
            switch (e.Kind)
            {
                case LedgerEntryKind.Allocation: allocated += e.Amount; break;
                case LedgerEntryKind.Adjustment: adjusted += e.Amount; break;
                case LedgerEntryKind.Expiration: expired -= e.Amount; break;
                case LedgerEntryKind.Charge: charged -= e.Amount; break;
                case LedgerEntryKind.Hold:
                case LedgerEntryKind.HoldRelease: held -= e.Amount; break;
            }
        }
        return new GrantBalance
        {
            GrantCode = grantCode, Currency = currency, CreditLimit = creditLimit,
            Allocated = allocated, Adjusted = adjusted, Expired = expired, Charged = charged, Held = held,
        };
    }

    /// <inheritdoc/>
    public override string ToString() => $"{GrantCode}: balance {Balance} {Currency}, held {Held}, available {Available}";
}

namespace CompGrid.Billing;

/// <summary>
/// The one place where CompGrid rounds money. Prices and costs are computed exactly in <see cref="decimal"/>; an
/// amount is rounded only when it enters the ledger:
/// <list type="bullet">
/// <item>a <b>charge</b> is rounded to the currency's minor unit, half away from zero (<see cref="RoundCharge"/>);</item>
/// <item>a <b>hold</b> is rounded up to the minor unit, so it always covers the exact maximum cost (<see cref="RoundHold"/>);</item>
/// <item>allocations and adjustments must already be whole minor units (<see cref="IsWholeMinorUnits"/>), they are never rounded.</item>
/// </list>
/// Statements never round again: their lines are ledger amounts, and per-resource summaries share a charge's rounded
/// amount between its components by the largest-remainder method (<see cref="Apportion"/>), so no minor unit is
/// created or lost.
/// </summary>
public sealed class MoneyRounding
{
    private static readonly Dictionary<string, int> Iso4217 = new(StringComparer.OrdinalIgnoreCase)
    {
        ["JPY"] = 0, ["KRW"] = 0, ["ISK"] = 0, ["CLP"] = 0, ["VND"] = 0, ["UGX"] = 0, ["XOF"] = 0, ["XAF"] = 0, ["PYG"] = 0,
        ["BHD"] = 3, ["KWD"] = 3, ["OMR"] = 3, ["JOD"] = 3, ["TND"] = 3, ["LYD"] = 3, ["IQD"] = 3,
    };

    private readonly Dictionary<string, int> _overrides;

    /// <summary>Rounding with the ISO 4217 minor units (2 for currencies and units not listed), plus <paramref name="minorUnits"/> overrides.</summary>
    public MoneyRounding(IEnumerable<KeyValuePair<string, int>>? minorUnits = null)
    {
        _overrides = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        foreach (var (k, v) in minorUnits ?? [])
        {
            ArgumentOutOfRangeException.ThrowIfNegative(v);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(v, 8);
            _overrides[k] = v;
        }
    }

    /// <summary>ISO 4217 minor units; 2 for anything else.</summary>
    public static MoneyRounding Default { get; } = new();

    /// <summary>The number of decimal places of <paramref name="currency"/>'s minor unit.</summary>
    public int MinorUnits(string currency) =>
        _overrides.TryGetValue(currency, out var m) ? m : Iso4217.TryGetValue(currency, out var iso) ? iso : 2;

    /// <summary>A charge: rounded to the minor unit, half away from zero.</summary>
    public decimal RoundCharge(decimal exact, string currency) => Math.Round(exact, MinorUnits(currency), MidpointRounding.AwayFromZero);

    /// <summary>A hold: rounded up (away from zero) to the minor unit.</summary>
    public decimal RoundHold(decimal exact, string currency)
    {
        var places = MinorUnits(currency);
        return Math.Round(exact, places, exact >= 0 ? MidpointRounding.ToPositiveInfinity : MidpointRounding.ToNegativeInfinity);
    }

    /// <summary>Whether <paramref name="amount"/> has no digits below the minor unit.</summary>
    public bool IsWholeMinorUnits(decimal amount, string currency) => Math.Round(amount, MinorUnits(currency)) == amount;

    /// <summary>
    /// Shares <paramref name="total"/> (whole minor units) between parts in proportion to <paramref name="exactParts"/>:
    /// every share is whole minor units and the shares add up to <paramref name="total"/> exactly (largest remainder).
    /// </summary>
    public decimal[] Apportion(IReadOnlyList<decimal> exactParts, decimal total, string currency)
    {
        ArgumentNullException.ThrowIfNull(exactParts);
        var n = exactParts.Count;
        var shares = new decimal[n];
        if (n == 0) return shares;
        var places = MinorUnits(currency);
        var unit = 1m;
        for (var i = 0; i < places; i++) unit /= 10m;
        var exactSum = exactParts.Sum();
        var remainders = new (decimal Remainder, int Index)[n];
        decimal assigned = 0;
        for (var i = 0; i < n; i++)
        {
            // Without an exact sum to share by, the first part takes everything.
            var ideal = exactSum == 0 ? (i == 0 ? total : 0m) : total * exactParts[i] / exactSum;
            var floor = Math.Round(ideal, places, MidpointRounding.ToZero);
            shares[i] = floor;
            assigned += floor;
            remainders[i] = (Math.Abs(ideal - floor), i);
        }
        var left = total - assigned;
        var step = left >= 0 ? unit : -unit;
        foreach (var (_, index) in remainders.OrderByDescending(r => r.Remainder).ThenBy(r => r.Index))
        {
            if (left == 0) break;
            shares[index] += step;
            left -= step;
        }
        // More than n units left (cannot happen with consistent signs): give the rest to the first part.
        shares[0] += left;
        return shares;
    }
}

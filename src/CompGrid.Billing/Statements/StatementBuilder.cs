using System.Globalization;

namespace CompGrid.Billing;

/// <summary>Builds statements from ledger entries (pure; no rounding beyond sharing each charge between its resources).</summary>
public static class StatementBuilder
{
    /// <summary>
    /// The statement of <paramref name="grant"/> for [<paramref name="from"/>, <paramref name="to"/>) from its entries
    /// (all of them, or at least every entry before <paramref name="to"/>).
    /// </summary>
    public static Statement Build(Grant grant, IEnumerable<LedgerEntry> entries, DateTimeOffset from, DateTimeOffset to, MoneyRounding? rounding = null)
    {
        ArgumentNullException.ThrowIfNull(grant);
        ArgumentNullException.ThrowIfNull(entries);
        if (to < from) throw new BillingValidationException("to", "must not be before 'from'.");
        rounding ??= MoneyRounding.Default;
        var all = entries.Where(e => e.GrantCode == grant.Code && e.At < to).OrderBy(e => e.Id).ToList();
        var opening = all.Where(e => e.IsPosted && e.At < from).Sum(e => e.Amount);
        var inPeriod = all.Where(e => e.At >= from).ToList();
        var charges = new List<StatementLine>();
        var adjustments = new List<StatementAdjustment>();
        var byResource = new Dictionary<string, (decimal UnitHours, decimal Amount)>(StringComparer.Ordinal);
        foreach (var e in inPeriod)
        {
            switch (e.Kind)
            {
                case LedgerEntryKind.Charge:
                    var amount = -e.Amount;
                    var d = e.Details;
                    charges.Add(new StatementLine
                    {
                        EntryId = e.Id, At = e.At, JobId = e.JobId ?? "", User = e.User ?? "",
                        Resources = d is null ? "" : Resources(d), Hours = Math.Round(d?.Hours ?? 0, 6), Rate = d is null ? "" : Rate(d), Amount = amount,
                    });
                    var components = d?.Components ?? [];
                    if (components.Count == 0)
                    {
                        Add(byResource, "other", 0, amount);
                        break;
                    }
                    var shares = rounding.Apportion(components.Select(c => c.Amount).ToList(), amount, e.Currency.Length > 0 ? e.Currency : grant.Currency);
                    for (var i = 0; i < components.Count; i++)
                        Add(byResource, components[i].Resource, Math.Round(components[i].Quantity * (components[i].Resource == "fee" ? 1 : components[i].Hours), 6), shares[i]);
                    break;
                case LedgerEntryKind.Allocation:
                case LedgerEntryKind.Adjustment:
                case LedgerEntryKind.Expiration:
                    adjustments.Add(new StatementAdjustment { EntryId = e.Id, At = e.At, Kind = e.Kind, Amount = e.Amount, Actor = e.Actor, Reason = e.Reason });
                    break;
            }
        }
        var totalCharges = charges.Sum(c => c.Amount);
        var totalAdjustments = adjustments.Sum(a => a.Amount);
        return new Statement
        {
            GrantCode = grant.Code, Title = grant.Title, PrincipalInvestigator = grant.PrincipalInvestigator, Currency = grant.Currency,
            From = from, To = to, OpeningBalance = opening,
            Charges = charges, Adjustments = adjustments, TotalCharges = totalCharges, TotalAdjustments = totalAdjustments,
            ClosingBalance = opening - totalCharges + totalAdjustments,
            HeldAtClose = -all.Where(e => !e.IsPosted).Sum(e => e.Amount),
            ByUser = charges.GroupBy(c => c.User, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => new UserSummary(g.Key, g.Count(), g.Sum(c => c.Hours), g.Sum(c => c.Amount))).ToList(),
            ByResource = byResource.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => new ResourceSummary(kv.Key, kv.Value.UnitHours, kv.Value.Amount)).ToList(),
        };
    }

    private static void Add(Dictionary<string, (decimal, decimal)> map, string key, decimal unitHours, decimal amount)
    {
        map.TryGetValue(key, out var v);
        map[key] = (v.Item1 + unitHours, v.Item2 + amount);
    }

    private static string Resources(CostBreakdown d) => string.Create(CultureInfo.InvariantCulture,
        $"cpu={d.Cpus} mem={d.MemoryMiB / 1024m:0.###}GiB{(d.Gpus > 0 ? $" gpu={(d.GpuModel is null ? "" : d.GpuModel + ":")}{d.Gpus}" : "")} nodes={d.Nodes}{(d.BillingUnits is { } b ? $" billing={b}" : "")}");

    private static string Rate(CostBreakdown d) => string.Create(CultureInfo.InvariantCulture,
        $"{string.Join("; ", d.Components.Select(c => c.Resource == "fee" ? $"fee {c.UnitPrice}" : $"{c.Resource} {c.UnitPrice}/h"))}; qos x{d.QosMultiplier}; time x{Math.Round(d.TimeMultiplier, 6)} ({d.RateCard} v{d.RateCardVersion}, {d.Rule})");
}

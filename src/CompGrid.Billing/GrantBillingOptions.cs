namespace CompGrid.Billing;

/// <summary>Settings of grant billing (bind from configuration, for example the <c>CompGrid:Billing</c> section).</summary>
public sealed class GrantBillingOptions
{
    /// <summary>The rate cards (every version) saved to the store at start-up. At least one card named <see cref="RateCardName"/> is required.</summary>
    public IList<RateCard> RateCards { get; init; } = [];

    /// <summary>The rate card that prices new quotes (its highest version). The default is <c>default</c>.</summary>
    public string RateCardName { get; set; } = "default";

    /// <summary>Whether every job must name an account (grant); when false, jobs without one are admitted unbilled. The default is <see langword="false"/>.</summary>
    public bool RequireAccount { get; set; }

    /// <summary>The walltime a quote assumes when the job names none. The default is 1 hour.</summary>
    public TimeSpan DefaultWalltime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The memory per CPU a quote assumes when the job asks for none, in MiB. The default is 1024.</summary>
    public long DefaultMemoryMiBPerCpu { get; set; } = 1024;

    /// <summary>Minor units by currency overriding ISO 4217 (for example <c>CRD</c> = 0 for whole credits). Unlisted non-ISO units use 2.</summary>
    public IDictionary<string, int> MinorUnits { get; init; } = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Grants created at start-up when they do not exist yet (development and demos).</summary>
    public IList<Grant> Grants { get; init; } = [];

    /// <summary>How often the hosted expiry service expires allocations past their date (with DI only). The default is 1 hour.</summary>
    public TimeSpan ExpiryInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The actor recorded on automatic ledger entries. The default is <c>billing</c>.</summary>
    public string Actor { get; set; } = "billing";

    /// <summary>The problems of these options (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(RateCardName)) errors.Add("RateCardName: must not be empty.");
        else if (!RateCards.Any(c => string.Equals(c.Name, RateCardName, StringComparison.Ordinal)))
            errors.Add($"RateCards: must contain a card named '{RateCardName}' (the RateCardName).");
        foreach (var c in RateCards)
        {
            if (c.Version < 1) errors.Add($"RateCards['{c.Name}'].Version: must be 1 or more.");
            if (string.IsNullOrWhiteSpace(c.Currency)) errors.Add($"RateCards['{c.Name}'].Currency: must not be empty.");
            if (c.Rules.Count == 0) errors.Add($"RateCards['{c.Name}'].Rules: must have at least one rule.");
            foreach (var r in c.Rules)
            {
                if (r.CpuCoreHour < 0 || r.MemoryGbHour < 0 || r.GpuHour < 0 || r.PerJobFee < 0 || r.BillingUnitHour < 0 || r.GpuHourByModel.Values.Any(v => v < 0))
                    errors.Add($"RateCards['{c.Name}'].Rules['{r}']: prices must not be negative.");
                if (r.BillingWeights is { } w)
                {
                    try { TresBillingWeights.Parse(w); }
                    catch (FormatException e) { errors.Add($"RateCards['{c.Name}'].Rules['{r}'].BillingWeights: {e.Message}"); }
                }
            }
            foreach (var (qos, m) in c.QosMultipliers)
                if (m < 0) errors.Add($"RateCards['{c.Name}'].QosMultipliers['{qos}']: must not be negative.");
            foreach (var t in c.TimeMultipliers)
                if (t.FromHour is < 0 or > 23 || t.ToHour is < 1 or > 24 || t.Multiplier < 0)
                    errors.Add($"RateCards['{c.Name}'].TimeMultipliers: FromHour must be 0–23, ToHour 1–24 and Multiplier not negative.");
            if (!string.Equals(c.TimeZone, "UTC", StringComparison.OrdinalIgnoreCase))
            {
                try { TimeZoneInfo.FindSystemTimeZoneById(c.TimeZone); }
                catch (TimeZoneNotFoundException) { errors.Add($"RateCards['{c.Name}'].TimeZone: unknown time zone '{c.TimeZone}'."); }
            }
        }
        if (DefaultWalltime <= TimeSpan.Zero) errors.Add("DefaultWalltime: must be positive.");
        if (ExpiryInterval <= TimeSpan.Zero) errors.Add("ExpiryInterval: must be positive.");
        if (DefaultMemoryMiBPerCpu < 0) errors.Add("DefaultMemoryMiBPerCpu: must not be negative.");
        foreach (var (cur, m) in MinorUnits)
            if (m is < 0 or > 8) errors.Add($"MinorUnits['{cur}']: must be 0–8.");
        if (string.IsNullOrWhiteSpace(Actor)) errors.Add("Actor: must not be empty.");
        return errors;
    }
}

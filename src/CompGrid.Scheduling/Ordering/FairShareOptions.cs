namespace CompGrid.Ordering;

/// <summary>An account in the fair-share hierarchy.</summary>
public sealed record FairShareAccount
{
    /// <summary>The account name (the job's <see cref="JobSpec.Account"/>).</summary>
    public string Name { get; init; } = "";

    /// <summary>The parent account, or null for an account directly under the root.</summary>
    public string? Parent { get; init; }

    /// <summary>Raw shares of the parent's allocation. The default is 1.</summary>
    public double Shares { get; init; } = 1;
}

/// <summary>A user's shares within one account.</summary>
public sealed record FairShareUser
{
    /// <summary>The user (the job's <see cref="JobSpec.Owner"/>).</summary>
    public string User { get; init; } = "";

    /// <summary>The account.</summary>
    public string Account { get; init; } = "";

    /// <summary>Raw shares of the account's allocation. The default is 1.</summary>
    public double Shares { get; init; } = 1;
}

/// <summary>Settings of the fair-share calculation (like Slurm's association shares and <c>PriorityDecayHalfLife</c>).</summary>
public sealed class FairShareOptions
{
    /// <summary>The half-life of recorded usage. The default is 7 days.</summary>
    public TimeSpan UsageHalfLife { get; set; } = TimeSpan.FromDays(7);

    /// <summary>The account hierarchy. Accounts that jobs name but that are not listed sit directly under the root with <see cref="DefaultShares"/>.</summary>
    public IList<FairShareAccount> Accounts { get; init; } = [];

    /// <summary>Users' shares within accounts. Users not listed get <see cref="DefaultShares"/> in the account they charge.</summary>
    public IList<FairShareUser> Users { get; init; } = [];

    /// <summary>Shares given to accounts and users that are not configured. The default is 1.</summary>
    public double DefaultShares { get; set; } = 1;

    /// <summary>The account used for jobs without an account. The default is <c>default</c>.</summary>
    public string DefaultAccount { get; set; } = "default";

    /// <summary>
    /// How often an engine whose job store keeps fair-share usage (SQLite, PostgreSQL) reloads it, to see what other
    /// instances on the same database charged; <see cref="TimeSpan.Zero"/> reloads only at start-up. The default is 1 minute.
    /// </summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Weight of one GPU-second relative to one CPU-second in recorded usage. The default is 0 (CPU-seconds only).</summary>
    public double GpuSecondWeight { get; set; }

    /// <summary>Checks the settings; returns the problems found (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (UsageHalfLife <= TimeSpan.Zero) errors.Add("FairShare.UsageHalfLife must be positive.");
        if (DefaultShares <= 0) errors.Add("FairShare.DefaultShares must be positive.");
        if (GpuSecondWeight < 0) errors.Add("FairShare.GpuSecondWeight must not be negative.");
        if (RefreshInterval < TimeSpan.Zero) errors.Add("FairShare.RefreshInterval must not be negative.");
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (FairShareAccount a in Accounts)
        {
            if (string.IsNullOrWhiteSpace(a.Name)) errors.Add("FairShare.Accounts: every account needs a Name.");
            else if (!names.Add(a.Name)) errors.Add($"FairShare.Accounts: account '{a.Name}' is listed twice.");
            if (a.Shares <= 0) errors.Add($"FairShare.Accounts: account '{a.Name}' must have positive Shares.");
        }
        foreach (FairShareAccount a in Accounts)
            if (a.Parent is not null && !names.Contains(a.Parent))
                errors.Add($"FairShare.Accounts: account '{a.Name}' names unknown parent '{a.Parent}'.");
        foreach (FairShareAccount a in Accounts)
        {
            // cycles
            var seen = new HashSet<string>(StringComparer.Ordinal);
            string? p = a.Name;
            while (p is not null)
            {
                if (!seen.Add(p)) { errors.Add($"FairShare.Accounts: account '{a.Name}' is in a parent cycle."); break; }
                p = Accounts.FirstOrDefault(x => x.Name == p)?.Parent;
            }
        }
        foreach (FairShareUser u in Users)
        {
            if (string.IsNullOrWhiteSpace(u.User) || string.IsNullOrWhiteSpace(u.Account)) errors.Add("FairShare.Users: every entry needs a User and an Account.");
            if (u.Shares <= 0) errors.Add($"FairShare.Users: user '{u.User}' in '{u.Account}' must have positive Shares.");
        }
        return errors;
    }
}

using CompGrid.Billing;

namespace CompGrid.PowerShell;

/// <summary>A grant with its balance, flat for tables and <c>Where-Object</c> (what <c>Get-CompGridGrant</c> writes).</summary>
public sealed record CompGridGrant
{
    /// <summary>The grant's code (what jobs name as their account).</summary>
    public string Code { get; init; } = "";

    /// <summary>The grant's title.</summary>
    public string Title { get; init; } = "";

    /// <summary>The principal investigator.</summary>
    public string PrincipalInvestigator { get; init; } = "";

    /// <summary>Users who may charge the grant.</summary>
    public IReadOnlyList<string> Members { get; init; } = [];

    /// <summary>Active, suspended or closed.</summary>
    public GrantStatus Status { get; init; }

    /// <summary>The grant's currency.</summary>
    public string Currency { get; init; } = "";

    /// <summary>Allocations and adjustments minus expiries and charges.</summary>
    public decimal Balance { get; init; }

    /// <summary>Held for jobs that have not ended yet.</summary>
    public decimal Held { get; init; }

    /// <summary>The balance minus what is held.</summary>
    public decimal Available { get; init; }

    /// <summary>What a new job may still reserve: available plus the credit limit.</summary>
    public decimal Spendable { get; init; }

    /// <summary>A grant and its balance as one row.</summary>
    public static CompGridGrant From(Grant grant, GrantBalance balance)
    {
        ArgumentNullException.ThrowIfNull(grant);
        ArgumentNullException.ThrowIfNull(balance);
        return new()
        {
            Code = grant.Code, Title = grant.Title, PrincipalInvestigator = grant.PrincipalInvestigator, Members = grant.Members,
            Status = grant.Status, Currency = balance.Currency, Balance = balance.Balance, Held = balance.Held,
            Available = balance.Available, Spendable = balance.Spendable,
        };
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Code} ({Title}): {Available} {Currency} available";
}

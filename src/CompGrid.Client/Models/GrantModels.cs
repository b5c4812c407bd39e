using System.Text.Json;

namespace CompGrid.Client;

/// <summary>A grant as the portal lists it (<c>GET /api/grants</c>): its terms and its balance.</summary>
public sealed record GrantAccount
{
    /// <summary>The grant's terms.</summary>
    public GrantInfo Grant { get; init; } = new();

    /// <summary>The grant's balance now.</summary>
    public GrantBalanceInfo Balance { get; init; } = new();

    /// <inheritdoc/>
    public override string ToString() => $"{Grant.Code} {Balance.Available} {Balance.Currency} available";
}

/// <summary>A grant's terms: code, title, principal investigator, members, currency and budget.</summary>
public sealed record GrantInfo
{
    /// <summary>The grant (budget) code that jobs name as their account.</summary>
    public string Code { get; init; } = "";

    /// <summary>The grant's title.</summary>
    public string Title { get; init; } = "";

    /// <summary>The principal investigator (a user name).</summary>
    public string PrincipalInvestigator { get; init; } = "";

    /// <summary>The users who may charge the grant besides the principal investigator.</summary>
    public IReadOnlyList<string> Members { get; init; } = [];

    /// <summary>The grant's currency code.</summary>
    public string Currency { get; init; } = "";

    /// <summary>The budget granted.</summary>
    public decimal Budget { get; init; }

    /// <summary>When the grant starts, if it has a start.</summary>
    public DateTimeOffset? ValidFrom { get; init; }

    /// <summary>When the grant ends, if it has an end.</summary>
    public DateTimeOffset? ValidTo { get; init; }

    /// <summary>The grant's status name (for example <c>Active</c>).</summary>
    public string Status { get; init; } = "";

    /// <summary>The parent grant's code, for a sub-grant.</summary>
    public string? ParentCode { get; init; }

    /// <summary>How far the grant may go below zero.</summary>
    public decimal CreditLimit { get; init; }
}

/// <summary>A grant's balance as the ledger computes it.</summary>
public sealed record GrantBalanceInfo
{
    /// <summary>The grant code.</summary>
    public string GrantCode { get; init; } = "";

    /// <summary>The currency code.</summary>
    public string Currency { get; init; } = "";

    /// <summary>Allocations so far.</summary>
    public decimal Allocated { get; init; }

    /// <summary>Adjustments so far (refunds positive).</summary>
    public decimal Adjusted { get; init; }

    /// <summary>Allocations that expired.</summary>
    public decimal Expired { get; init; }

    /// <summary>Charges so far.</summary>
    public decimal Charged { get; init; }

    /// <summary>Funds held for jobs that have not ended.</summary>
    public decimal Held { get; init; }

    /// <summary>How far the grant may go below zero.</summary>
    public decimal CreditLimit { get; init; }

    /// <summary>Allocated + adjusted − expired − charged.</summary>
    public decimal Balance { get; init; }

    /// <summary>The balance less the holds.</summary>
    public decimal Available { get; init; }

    /// <summary>What a new job may still reserve: available plus the credit limit.</summary>
    public decimal Spendable { get; init; }
}

/// <summary>The price of a job before it runs (<c>POST /api/quotes</c>): its maximum cost and whether the grant covers it.</summary>
public sealed record JobQuote
{
    /// <summary>The grant the quote was made against.</summary>
    public string? Account { get; init; }

    /// <summary>The currency code.</summary>
    public string Currency { get; init; } = "";

    /// <summary>The maximum cost (the walltime at the rate card's prices).</summary>
    public decimal Amount { get; init; }

    /// <summary>What the grant can still spend.</summary>
    public decimal Spendable { get; init; }

    /// <summary>Whether the grant covers <see cref="Amount"/>.</summary>
    public bool Affordable { get; init; }

    /// <summary>The rate card that priced the job.</summary>
    public string? RateCard { get; init; }

    /// <summary>The rate card's version.</summary>
    public int RateCardVersion { get; init; }

    /// <summary>The rate card rule that applied.</summary>
    public string? Rule { get; init; }

    /// <summary>The hours priced.</summary>
    public decimal Hours { get; init; }

    /// <summary>The price by resource, as the portal sent it.</summary>
    public JsonElement Components { get; init; }

    /// <inheritdoc/>
    public override string ToString() => $"{Amount} {Currency}{(Affordable ? "" : " (not affordable)")}";
}

namespace CompGrid.Billing;

/// <summary>The status of a grant.</summary>
public enum GrantStatus
{
    /// <summary>Jobs may be charged to the grant.</summary>
    Active,
    /// <summary>Temporarily closed: new jobs are refused; running jobs are still charged.</summary>
    Suspended,
    /// <summary>Closed for good: new jobs are refused; running jobs are still charged.</summary>
    Expired,
}

/// <summary>
/// A grant (account) that jobs are charged to: a budget code with its owner, the members allowed to charge it,
/// its currency, validity period and status. Its money lives in the ledger (allocations, holds, charges,
/// adjustments); <see cref="Budget"/> is only the amount allocated when the grant is created.
/// </summary>
public sealed record Grant
{
    /// <summary>The budget code (for example <c>chem-2026-017</c>); letters, digits, <c>.</c>, <c>_</c> and <c>-</c>.</summary>
    public string Code { get; init; } = "";

    /// <summary>A human-readable title.</summary>
    public string Title { get; init; } = "";

    /// <summary>The principal investigator (owner); always allowed to charge the grant.</summary>
    public string PrincipalInvestigator { get; init; } = "";

    /// <summary>The users allowed to charge the grant besides the principal investigator.</summary>
    public IReadOnlyList<string> Members { get; init; } = [];

    /// <summary>The currency code (ISO 4217 such as <c>EUR</c>, or a unit such as <c>CRD</c> for credits).</summary>
    public string Currency { get; init; } = "CRD";

    /// <summary>The amount allocated when the grant is created (0 for none). The default is 0.</summary>
    public decimal Budget { get; init; }

    /// <summary>The first instant jobs may be charged, or null for no lower bound.</summary>
    public DateTimeOffset? ValidFrom { get; init; }

    /// <summary>The instant after which no new jobs may be charged, or null for no end.</summary>
    public DateTimeOffset? ValidTo { get; init; }

    /// <summary>The status. The default is <see cref="GrantStatus.Active"/>.</summary>
    public GrantStatus Status { get; init; } = GrantStatus.Active;

    /// <summary>The parent grant's code for a hierarchy (department → group → project), or null.</summary>
    public string? ParentCode { get; init; }

    /// <summary>How far the available balance may go below zero for new holds (an overdraft). The default is 0.</summary>
    public decimal CreditLimit { get; init; }

    /// <summary>Whether <paramref name="user"/> may charge the grant (the principal investigator or a member).</summary>
    public bool CanCharge(string user) =>
        !string.IsNullOrEmpty(user) &&
        (string.Equals(user, PrincipalInvestigator, StringComparison.Ordinal) || Members.Contains(user, StringComparer.Ordinal));

    /// <summary>The status at <paramref name="now"/>: <see cref="GrantStatus.Expired"/> outside the validity period.</summary>
    public GrantStatus StatusAt(DateTimeOffset now) =>
        Status != GrantStatus.Active ? Status
        : (ValidFrom is { } from && now < from) || (ValidTo is { } to && now > to) ? GrantStatus.Expired
        : GrantStatus.Active;

    /// <inheritdoc/>
    public override string ToString() => $"{Code} ({Title}; PI {PrincipalInvestigator}; {Status})";
}

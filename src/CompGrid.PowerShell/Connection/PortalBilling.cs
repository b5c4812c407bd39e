using System.Text.Json;
using CompGrid.Billing;
using CompGrid.Client;

namespace CompGrid.PowerShell;

/// <summary>Billing calls on a portal through <see cref="CompGridHttpClient"/>, as the same objects the in-process engine gives.</summary>
internal sealed class PortalBilling(CompGridHttpClient client) : ICompGridBilling
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    public async Task<IReadOnlyList<CompGridGrant>> ListGrantsAsync(string? member, CancellationToken cancellationToken)
    {
        var grants = await client.GetGrantsAsync(cancellationToken).ConfigureAwait(false);
        return [.. grants.Select(From).Where(g => member is null || g.Members.Contains(member, StringComparer.Ordinal) || g.PrincipalInvestigator == member)];
    }

    public async Task<CompGridGrant?> GetGrantAsync(string code, CancellationToken cancellationToken) =>
        await client.GetGrantAsync(code, cancellationToken).ConfigureAwait(false) is { } g ? From(g) : null;

    public async Task<Statement> GetStatementAsync(string code, DateTimeOffset? from, DateTimeOffset? to, CancellationToken cancellationToken)
    {
        try { return Statement.FromJson((await client.GetStatementAsync(code, from, to, cancellationToken).ConfigureAwait(false)).GetRawText()); }
        catch (CompGridException ex) when (ex.Code == CompGridErrorCodes.NotFound)
        {
            throw new CompGridException($"Grant '{code}' was not found.", ex) { Code = CompGridErrorCodes.UnknownGrant, Operation = "statement" };
        }
    }

    public async Task<Quote> QuoteAsync(JobSpec spec, CancellationToken cancellationToken)
    {
        var q = await client.QuoteAsync(spec, cancellationToken).ConfigureAwait(false);
        var components = q.Components.ValueKind == JsonValueKind.Array ? q.Components.Deserialize<List<CostComponent>>(Web) ?? [] : [];
        return new Quote
        {
            Account = q.Account, Currency = q.Currency, Amount = q.Amount, Spendable = q.Account is null ? null : q.Spendable,
            Breakdown = new CostBreakdown { RateCard = q.RateCard ?? "", RateCardVersion = q.RateCardVersion, Rule = q.Rule ?? "", Hours = q.Hours, Currency = q.Currency, Components = components },
        };
    }

    private static CompGridGrant From(GrantAccount a) => new()
    {
        Code = a.Grant.Code, Title = a.Grant.Title, PrincipalInvestigator = a.Grant.PrincipalInvestigator, Members = a.Grant.Members,
        Status = Enum.TryParse<GrantStatus>(a.Grant.Status, ignoreCase: true, out var s) ? s : GrantStatus.Active,
        Currency = a.Balance.Currency, Balance = a.Balance.Balance, Held = a.Balance.Held, Available = a.Balance.Available, Spendable = a.Balance.Spendable,
    };
}

using CompGrid.Billing;

namespace CompGrid.PowerShell;

/// <summary>Billing calls on the in-process engine's <see cref="GrantBillingService"/>.</summary>
internal sealed class InProcessBilling(GrantBillingService billing, TimeProvider time) : ICompGridBilling
{
    public async Task<IReadOnlyList<CompGridGrant>> ListGrantsAsync(string? member, CancellationToken cancellationToken)
    {
        var grants = await billing.ListGrantsAsync(member, cancellationToken).ConfigureAwait(false);
        var rows = new List<CompGridGrant>(grants.Count);
        foreach (var g in grants) rows.Add(CompGridGrant.From(g, await billing.GetBalanceAsync(g.Code, cancellationToken).ConfigureAwait(false)));
        return rows;
    }

    public async Task<CompGridGrant?> GetGrantAsync(string code, CancellationToken cancellationToken) =>
        await billing.GetGrantAsync(code, cancellationToken).ConfigureAwait(false) is { } g
            ? CompGridGrant.From(g, await billing.GetBalanceAsync(code, cancellationToken).ConfigureAwait(false))
            : null;

    public async Task<Statement> GetStatementAsync(string code, DateTimeOffset? from, DateTimeOffset? to, CancellationToken cancellationToken)
    {
        // The same default period as the portal's statement endpoint: this calendar month (UTC).
        var now = time.GetUtcNow();
        var monthStart = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero);
        if (await billing.GetGrantAsync(code, cancellationToken).ConfigureAwait(false) is null)
            throw new CompGridException($"Grant '{code}' was not found.") { Code = CompGridErrorCodes.UnknownGrant, Operation = "statement" };
        return await billing.GetStatementAsync(code, from ?? monthStart, to ?? monthStart.AddMonths(1), cancellationToken).ConfigureAwait(false);
    }

    public Task<Quote> QuoteAsync(JobSpec spec, CancellationToken cancellationToken) => billing.QuoteAsync(spec, cancellationToken);
}

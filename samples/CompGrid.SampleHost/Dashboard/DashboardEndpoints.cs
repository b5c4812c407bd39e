using System.Globalization;
using System.Security.Claims;
using CompGrid.Billing;
using static CompGrid.SampleHost.Api.ApiResults;

namespace CompGrid.SampleHost.Dashboard;

/// <summary>
/// What the dashboard page (<c>wwwroot/index.html</c>) needs beyond the job and billing API:
/// <list type="bullet">
/// <item><c>GET /api/dashboard/jobs?limit=</c> — the caller's jobs (administrators: all) with their cost so far;</item>
/// <item><c>GET /api/dashboard/usage?days=</c> — charges of the caller's grants by day, user and resource, for the charts.</item>
/// </list>
/// Costs come from the ledger (a finished job's charges) or, for a running job, from the rate card over the time the
/// engine has seen it run (an estimate, marked as such; the charge at the end is what counts).
/// </summary>
public static class DashboardEndpoints
{
    /// <summary>The longest period the usage charts cover, in days.</summary>
    public const int MaxUsageDays = 366;

    /// <summary>Maps the dashboard's endpoints.</summary>
    public static IEndpointRouteBuilder MapDashboardEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/dashboard").RequireAuthorization();

        api.MapGet("/jobs", async (ClaimsPrincipal user, ICompGridClient grid, GrantBillingService billing, TimeProvider time, int? limit, CancellationToken ct) =>
        {
            if (limit is < 1 or > 1000) return Invalid(new ValidationError("limit", "must be between 1 and 1000"));
            var jobs = new List<JobRecord>();
            await foreach (var j in grid.ListJobsAsync(new JobQuery { Owner = IsAdmin(user) ? null : Name(user), Limit = limit ?? 100 }, ct)) jobs.Add(j);
            var now = time.GetUtcNow();
            var charged = await ChargesByJobAsync(jobs, billing, now, ct);
            var rows = new List<JobRow>(jobs.Count);
            foreach (var j in jobs) rows.Add(new JobRow(j, await CostAsync(j, charged, billing, now, ct)));
            return Results.Ok(rows);
        });

        api.MapGet("/usage", async (ClaimsPrincipal user, GrantBillingService billing, TimeProvider time, int? days, CancellationToken ct) =>
        {
            if (days is < 1 or > MaxUsageDays) return Invalid(new ValidationError("days", $"must be between 1 and {MaxUsageDays}"));
            var now = time.GetUtcNow();
            var from = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero).AddDays(1 - (days ?? 30));
            var byDay = new SortedDictionary<string, decimal>(StringComparer.Ordinal);
            var byUser = new Dictionary<string, decimal>(StringComparer.Ordinal);
            var byResource = new Dictionary<string, decimal>(StringComparer.Ordinal);
            var currencies = new HashSet<string>(StringComparer.Ordinal);
            for (var d = from; d <= now; d = d.AddDays(1)) byDay[Day(d)] = 0m;   // days without charges are drawn as zero
            foreach (var grant in await billing.ListGrantsAsync(IsAdmin(user) ? null : Name(user), ct))
            {
                var statement = await billing.GetStatementAsync(grant.Code, from, now.AddSeconds(1), ct);
                if (statement.Charges.Count == 0) continue;
                currencies.Add(statement.Currency);
                foreach (var line in statement.Charges)
                {
                    byDay[Day(line.At)] = byDay.GetValueOrDefault(Day(line.At)) + line.Amount;
                    byUser[line.User] = byUser.GetValueOrDefault(line.User) + line.Amount;
                }
                foreach (var r in statement.ByResource) byResource[r.Resource] = byResource.GetValueOrDefault(r.Resource) + r.Amount;
            }
            return Results.Ok(new
            {
                from,
                to = now,
                currencies,
                byDay = byDay.Select(kv => new { key = kv.Key, amount = kv.Value }),
                byUser = byUser.OrderByDescending(kv => kv.Value).Select(kv => new { key = kv.Key, amount = kv.Value }),
                byResource = byResource.OrderByDescending(kv => kv.Value).Select(kv => new { key = kv.Key, amount = kv.Value }),
            });
        });
        return app;
    }

    /// <summary>A job with its cost so far.</summary>
    public sealed record JobRow(JobRecord Job, JobCost? Cost);

    /// <summary>A job's cost: charged (<see cref="Final"/>) or estimated while it runs.</summary>
    public sealed record JobCost(decimal Amount, string Currency, bool Final);

    private static string Day(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    // One statement per grant over the listed jobs' period, instead of one ledger query per job.
    internal static async Task<Dictionary<string, JobCost>> ChargesByJobAsync(List<JobRecord> jobs, GrantBillingService billing, DateTimeOffset now, CancellationToken ct)
    {
        var result = new Dictionary<string, JobCost>(StringComparer.Ordinal);
        foreach (var group in jobs.Where(j => j.IsTerminal && j.Spec.Account is not null).GroupBy(j => j.Spec.Account!, StringComparer.Ordinal))
        {
            var statement = await billing.GetStatementAsync(group.Key, group.Min(j => j.SubmittedAt), now.AddSeconds(1), ct);
            var ids = group.Select(j => j.Id).ToHashSet(StringComparer.Ordinal);
            foreach (var line in statement.Charges.Where(l => ids.Contains(l.JobId)))
                result[line.JobId] = new JobCost((result.GetValueOrDefault(line.JobId)?.Amount ?? 0m) + line.Amount, statement.Currency, Final: true);
        }
        return result;
    }

    internal static async Task<JobCost?> CostAsync(JobRecord job, Dictionary<string, JobCost> charged, GrantBillingService billing, DateTimeOffset now, CancellationToken ct)
    {
        if (charged.TryGetValue(job.Id, out var cost)) return cost;
        if (job.State != JobState.Running || job.StartedAt is not { } started) return null;
        var elapsed = now - started;
        if (elapsed < TimeSpan.FromSeconds(1)) elapsed = TimeSpan.FromSeconds(1);
        try
        {
            var quote = await billing.QuoteAsync(QuoteRequest.FromJob(job.Spec) with { Walltime = elapsed }, ct);
            return new JobCost(quote.Amount, quote.Currency, Final: false);
        }
        catch (CompGridException) { return null; }   // no rate for this job: the page shows no estimate
    }
}

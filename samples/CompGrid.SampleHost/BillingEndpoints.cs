using System.Globalization;
using System.Security.Claims;
using CompGrid;
using CompGrid.Billing;
using CompGrid.SampleHost.Api;
using static CompGrid.SampleHost.Api.ApiResults;

namespace CompGrid.SampleHost;

/// <summary>
/// Grant billing in the sample host: the registration (<see cref="AddSampleGrantBilling"/>: ledger in the same SQLite
/// file, options from <c>CompGrid:Billing</c>) and the API (<see cref="MapBillingEndpoints"/>):
/// <list type="bullet">
/// <item><c>GET /api/grants</c> — the grants the caller may charge (administrators: all), with balances;</item>
/// <item><c>GET /api/grants/{code}</c> — one grant with its balance;</item>
/// <item><c>GET /api/grants/{code}/statement?from=&amp;to=&amp;format=json|csv</c> — the statement of a period (default: this month);</item>
/// <item><c>POST /api/quotes</c> — a job body (as <c>POST /api/jobs</c>) → its maximum cost and whether the grant covers it;</item>
/// <item><c>POST /api/grants</c>, <c>POST /api/grants/{code}/adjustments</c>, <c>POST /api/grants/{code}/allocations</c> — administrators only.</item>
/// </list>
/// </summary>
public static class BillingEndpoints
{
    /// <summary>Adds grant billing with its ledger in <paramref name="databasePath"/> and options from <paramref name="billingSection"/>.</summary>
    public static ICompGridBuilder AddSampleGrantBilling(this ICompGridBuilder builder, IConfiguration billingSection, string databasePath) =>
        builder.UseSqliteBillingStore(databasePath).AddGrantBilling(billingSection);

    public static IEndpointRouteBuilder MapBillingEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").RequireAuthorization();

        api.MapGet("/grants", async (ClaimsPrincipal user, GrantBillingService billing, CancellationToken ct) =>
        {
            var grants = await billing.ListGrantsAsync(IsAdmin(user) ? null : Name(user), ct);
            var list = new List<object>(grants.Count);
            foreach (var g in grants) list.Add(new { grant = g, balance = await billing.GetBalanceAsync(g.Code, ct) });
            return Results.Ok(list);
        });

        api.MapGet("/grants/{code}", async (string code, ClaimsPrincipal user, GrantBillingService billing, CancellationToken ct) =>
            await VisibleGrant(code, user, billing, ct) is { } g
                ? Results.Ok(new { grant = g, balance = await billing.GetBalanceAsync(code, ct) })
                : GrantNotFound(code));

        api.MapGet("/grants/{code}/statement", async (string code, string? from, string? to, string? format, ClaimsPrincipal user,
            GrantBillingService billing, TimeProvider time, CancellationToken ct) =>
        {
            if (await VisibleGrant(code, user, billing, ct) is null) return GrantNotFound(code);
            var errors = new List<ValidationError>();
            var now = time.GetUtcNow();
            var monthStart = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero);
            var fromAt = ParseTime(from, "from", monthStart, errors);
            var toAt = ParseTime(to, "to", monthStart.AddMonths(1), errors);
            if (errors.Count == 0 && toAt < fromAt) errors.Add(new ValidationError("to", "must not be before 'from'"));
            string fmt = (format ?? "json").ToLowerInvariant();
            if (fmt is not ("json" or "csv")) errors.Add(new ValidationError("format", "must be 'json' or 'csv'"));
            if (errors.Count > 0) return Problem([.. errors]);
            var statement = await billing.GetStatementAsync(code, fromAt, toAt, ct);
            return fmt == "csv"
                ? Results.Text(statement.ToCsv(), "text/csv; charset=utf-8")
                : Results.Text(statement.ToJson(), "application/json; charset=utf-8");
        });

        api.MapPost("/quotes", async (HttpRequest request, ClaimsPrincipal user, GrantBillingService billing, IJobPolicy policy, IJobCallerProvider callers,
            Microsoft.Extensions.Options.IOptions<CompGridOptions> engine, CancellationToken ct) =>
        {
            var (body, invalid) = await ReadJsonAsync<JobRequest>(request, ct);
            if (body is null) return invalid!;
            body.Command ??= body.Script is null && body.Executable is null && body.Image is null ? "true" : null; // a quote needs no payload
            var errors = new List<ValidationError>();
            var spec = body.ToSpec(Name(user), errors);
            if (errors.Count > 0) return Problem([.. errors]);
            // The same rules as a submission: what the caller may not run, they get no price for either.
            var specErrors = JobSpecValidator.Validate(spec, engine.Value.MaxWalltime);
            if (specErrors.Count > 0) return Problem([.. specErrors.Select(e => e with { Field = JobRequest.FieldName(e.Field) })]);
            var decision = await policy.EvaluateAsync(new JobPolicyContext
            {
                Spec = spec, Caller = await callers.GetCallerAsync(spec.Owner, ct), Walltime = spec.Walltime ?? engine.Value.DefaultWalltime,
            }, ct);
            if (!decision.IsAllowed) return PolicyDenied(new JobPolicyException(decision.Violations));
            if (spec.Account is { } account)
            {
                var grant = await billing.GetGrantAsync(account, ct);
                if (grant is null) return Problem(new ValidationError("account", $"grant '{account}' does not exist"));
                if (!grant.CanCharge(spec.Owner) && !IsAdmin(user))
                    return Results.Problem($"User '{spec.Owner}' is not a member of grant '{account}'.", statusCode: 403, title: "Forbidden");
            }
            try
            {
                var quote = await billing.QuoteAsync(spec, ct);
                return Results.Ok(new
                {
                    quote.Account, quote.Currency, quote.Amount, quote.Spendable, quote.Affordable,
                    quote.Breakdown.RateCard, quote.Breakdown.RateCardVersion, quote.Breakdown.Rule, quote.Breakdown.Hours, quote.Breakdown.Components,
                });
            }
            catch (BillingValidationException ex) { return Problem([.. ex.Errors]); }
            catch (CompGridException ex) when (ex.Code is CompGridErrorCodes.NoRate or CompGridErrorCodes.CurrencyMismatch) { return Results.Problem(ex.Message, statusCode: 422, title: "Cannot price the job"); }
        }).RequireRateLimiting(RequestLimits.QuotePolicy);

        var admin = api.MapGroup("/grants").RequireAuthorization(p => p.RequireRole(JobEndpoints.AdministratorRole));

        admin.MapPost("", async (HttpRequest request, ClaimsPrincipal user, GrantBillingService billing, CancellationToken ct) =>
        {
            var (grant, invalid) = await ReadJsonAsync<Grant>(request, ct);
            if (grant is null) return invalid!;
            // JSON null overrides the record's defaults; the billing rules expect values (found by GeneratedBodyTests).
            var nulls = new (string Field, bool IsNull)[]
            {
                ("code", grant.Code is null), ("title", grant.Title is null), ("principalInvestigator", grant.PrincipalInvestigator is null),
                ("members", grant.Members is null), ("currency", grant.Currency is null),
            };
            if (nulls.Where(n => n.IsNull).Select(n => new ValidationError(n.Field, "must not be null")).ToArray() is { Length: > 0 } nullErrors)
                return Problem(nullErrors);
            try
            {
                var created = await billing.CreateGrantAsync(grant, Name(user), ct);
                return Results.Created($"/api/grants/{created.Code}", new { grant = created, balance = await billing.GetBalanceAsync(created.Code, ct) });
            }
            catch (BillingValidationException ex) { return Problem([.. ex.Errors]); }
            catch (CompGridException ex) when (ex.Code == CompGridErrorCodes.GrantExists) { return Results.Problem(ex.Message, statusCode: 409, title: "Conflict"); }
        });

        admin.MapPost("/{code}/adjustments", async (string code, HttpRequest request, ClaimsPrincipal user, GrantBillingService billing, CancellationToken ct) =>
        {
            var (body, invalid) = await ReadJsonAsync<AdjustmentRequest>(request, ct);
            if (body is null) return invalid!;
            if (Math.Abs(body.Amount) > MaxAmount) return Problem(new ValidationError("amount", $"must be between -{MaxAmount} and {MaxAmount}"));
            try { return Results.Created($"/api/grants/{code}/statement", await billing.AdjustAsync(code, body.Amount, Name(user), body.Reason ?? "", body.JobId, body.Key, ct)); }
            catch (BillingValidationException ex) { return Problem([.. ex.Errors]); }
            catch (CompGridException ex) when (ex.Code == CompGridErrorCodes.UnknownGrant) { return GrantNotFound(code); }
        });

        admin.MapPost("/{code}/allocations", async (string code, HttpRequest request, ClaimsPrincipal user, GrantBillingService billing, CancellationToken ct) =>
        {
            var (body, invalid) = await ReadJsonAsync<AllocationRequest>(request, ct);
            if (body is null) return invalid!;
            if (Math.Abs(body.Amount) > MaxAmount) return Problem(new ValidationError("amount", $"must be between -{MaxAmount} and {MaxAmount}"));
            try
            {
                return Results.Created($"/api/grants/{code}/statement",
                    await billing.AllocateAsync(code, body.Amount, Name(user), body.Reason ?? "allocation", body.ExpiresAt, body.CarryOverFraction, body.Key, ct));
            }
            catch (BillingValidationException ex) { return Problem([.. ex.Errors]); }
            catch (CompGridException ex) when (ex.Code == CompGridErrorCodes.UnknownGrant) { return GrantNotFound(code); }
        });
        return app;
    }

    /// <summary>The body of <c>POST /api/grants/{code}/adjustments</c>: a signed amount (refunds positive) and a reason.</summary>
    public sealed record AdjustmentRequest(decimal Amount, string? Reason, string? JobId, string? Key);

    /// <summary>The body of <c>POST /api/grants/{code}/allocations</c>.</summary>
    public sealed record AllocationRequest(decimal Amount, string? Reason, DateTimeOffset? ExpiresAt, decimal CarryOverFraction, string? Key);

    /// <summary>The largest amount one adjustment or allocation may move: far above any grant, far below where decimal sums overflow.</summary>
    public const decimal MaxAmount = 1_000_000_000_000_000m;

    // Members see their grants; administrators see all; anyone else gets "not found" (codes are not disclosed).
    private static async Task<Grant?> VisibleGrant(string code, ClaimsPrincipal user, GrantBillingService billing, CancellationToken ct)
    {
        var g = await billing.GetGrantAsync(code, ct);
        return g is not null && (IsAdmin(user) || g.CanCharge(Name(user))) ? g : null;
    }

    private static DateTimeOffset ParseTime(string? value, string field, DateTimeOffset fallback, List<ValidationError> errors)
    {
        if (string.IsNullOrWhiteSpace(value)) return fallback;
        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t)) return t;
        errors.Add(new ValidationError(field, "must be a date or an ISO 8601 time (for example 2026-03-01 or 2026-03-01T00:00:00Z)"));
        return fallback;
    }

    private static IResult GrantNotFound(string code) => Results.Problem($"Grant '{code}' was not found.", statusCode: 404, title: "Not found");

    private static IResult Problem(params ValidationError[] errors) => Invalid(errors);
}

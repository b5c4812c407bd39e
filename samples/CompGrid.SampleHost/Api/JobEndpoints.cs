using System.Security.Claims;
using static CompGrid.SampleHost.Api.ApiResults;

namespace CompGrid.SampleHost.Api;

/// <summary>The job API: submit, list, get, cancel, logs, approve, reject, nodes.</summary>
public static class JobEndpoints
{
    /// <summary>The role that sees and may do everything (see <see cref="ApiResults.AdministratorRole"/>).</summary>
    public const string AdministratorRole = ApiResults.AdministratorRole;

    public static IEndpointRouteBuilder MapJobEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").RequireAuthorization();

        api.MapPost("/jobs", async (HttpRequest request, ClaimsPrincipal user, ICompGridClient grid, CancellationToken ct) =>
        {
            var (body, invalid) = await ReadJsonAsync<JobRequest>(request, ct);
            if (body is null) return invalid!;
            var errors = new List<ValidationError>();
            var spec = body.ToSpec(user.Identity!.Name!, errors);
            if (errors.Count > 0) return Problem([.. errors]);
            try
            {
                var handle = await grid.SubmitAsync(spec, ct);
                var job = await handle.GetAsync(ct);
                return Results.Created($"/api/jobs/{job.Id}", job);
            }
            catch (JobValidationException ex) { return Problem([.. ex.Errors.Select(e => e with { Field = JobRequest.FieldName(e.Field) })]); }
            catch (JobPolicyException ex) { return PolicyDenied(ex); }
            catch (InsufficientFundsException ex) { return Results.Problem(ex.Message, statusCode: 402, title: "Insufficient funds"); }
            catch (JobRejectedException ex) { return Results.Problem(ex.Message, statusCode: ex.Code switch { "not-a-member" => 403, "insufficient-funds" => 402, _ => 422 }, title: "Job rejected"); }
            catch (CompGridForbiddenException ex) { return Results.Problem(ex.Message, statusCode: 403, title: "Forbidden"); }
        }).RequireRateLimiting(RequestLimits.SubmitPolicy);

        api.MapGet("/jobs", async (ClaimsPrincipal user, ICompGridClient grid, string? state, string? owner, int? limit, string? account, string? backend,
            string? submittedAfter, string? submittedBefore, CancellationToken ct) =>
        {
            bool admin = user.IsInRole(AdministratorRole);
            var states = new List<JobState>();
            if (state is not null)
            {
                foreach (string s in state.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    if (!Enum.TryParse<JobState>(s, ignoreCase: true, out var js) || int.TryParse(s, out _))
                        return Problem(new ValidationError("state", $"'{s}' is not a job state ({string.Join(", ", Enum.GetNames<JobState>())})"));
                    states.Add(js);
                }
            }
            if (limit is < 1 or > 10_000) return Problem(new ValidationError("limit", "must be between 1 and 10000"));
            DateTimeOffset? after = null, before = null;
            foreach (var (field, text) in (ReadOnlySpan<(string, string?)>)[("submittedAfter", submittedAfter), ("submittedBefore", submittedBefore)])
            {
                if (text is null) continue;
                if (!DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var at))
                    return Problem(new ValidationError(field, "must be an ISO 8601 time (for example 2026-03-01T00:00:00Z)"));
                if (field == "submittedAfter") after = at; else before = at;
            }
            var query = new JobQuery
            {
                Owner = admin ? owner : user.Identity!.Name, States = states, Limit = limit ?? 200,
                Account = account, Backend = backend, SubmittedAfter = after, SubmittedBefore = before,
            };
            var jobs = new List<JobRecord>();
            await foreach (var j in grid.ListJobsAsync(query, ct)) jobs.Add(j);
            return Results.Ok(jobs);
        });

        api.MapGet("/jobs/{id}", async (string id, ClaimsPrincipal user, ICompGridClient grid, CancellationToken ct) =>
            await VisibleJobAsync(id, user, grid, ct) is { } job ? Results.Ok(job) : JobNotFound(id));

        api.MapGet("/jobs/{id}/history", async (string id, ClaimsPrincipal user, ICompGridClient grid, CancellationToken ct) =>
            await VisibleJobAsync(id, user, grid, ct) is null ? JobNotFound(id) : Results.Ok(await grid.GetHistoryAsync(id, ct)));

        api.MapGet("/jobs/{id}/usage", async (string id, ClaimsPrincipal user, ICompGridClient grid, CancellationToken ct) =>
            await VisibleJobAsync(id, user, grid, ct) is null ? JobNotFound(id)
                : await grid.GetUsageAsync(id, ct) is { } usage ? Results.Ok(usage) : Results.NoContent());

        api.MapPost("/jobs/{id}/cancel", async (string id, ClaimsPrincipal user, ICompGridClient grid, CancellationToken ct) =>
            await VisibleJobAsync(id, user, grid, ct) is null ? JobNotFound(id) : Results.Ok(await grid.CancelAsync(id, user.Identity!.Name, ct)));

        api.MapGet("/jobs/{id}/logs", async (string id, ClaimsPrincipal user, ICompGridClient grid, CancellationToken ct) =>
        {
            if (await VisibleJobAsync(id, user, grid, ct) is null) return JobNotFound(id);
            var logs = await grid.GetLogsAsync(id, ct);
            return Results.Text(logs.StandardOutput + logs.StandardError, "text/plain; charset=utf-8");
        });

        api.MapPost("/jobs/{id}/approve", async (string id, ClaimsPrincipal user, ICompGridClient grid, HttpRequest request, CancellationToken ct) =>
        {
            var (decision, invalid) = await ReadDecisionAsync(request, ct);
            if (invalid is not null) return invalid;
            try { return Results.Ok(await grid.ApproveAsync(id, user.Identity!.Name!, decision?.Reason, ct)); }
            catch (JobNotFoundException) { return JobNotFound(id); }
            catch (InvalidJobStateException ex) { return Results.Problem(ex.Message, statusCode: 409, title: "Wrong state"); }
        }).RequireAuthorization(p => p.RequireRole(AdministratorRole));

        api.MapPost("/jobs/{id}/reject", async (string id, ClaimsPrincipal user, ICompGridClient grid, HttpRequest request, CancellationToken ct) =>
        {
            var (decision, invalid) = await ReadDecisionAsync(request, ct);
            if (invalid is not null) return invalid;
            if (string.IsNullOrWhiteSpace(decision?.Reason)) return Problem(new ValidationError("reason", "is required when rejecting a job"));
            try { return Results.Ok(await grid.RejectAsync(id, user.Identity!.Name!, decision.Reason, ct)); }
            catch (JobNotFoundException) { return JobNotFound(id); }
            catch (InvalidJobStateException ex) { return Results.Problem(ex.Message, statusCode: 409, title: "Wrong state"); }
        }).RequireAuthorization(p => p.RequireRole(AdministratorRole));

        api.MapGet("/nodes", async (ICompGridClient grid, CancellationToken ct) => Results.Ok(await grid.GetNodesAsync(ct)));

        api.MapGet("/me", (ClaimsPrincipal user) => Results.Ok(new
        {
            name = user.Identity!.Name,
            roles = user.FindAll(ClaimTypes.Role).Select(c => c.Value).ToList(),
        }));
        return app;
    }

    private sealed record Decision(string? Reason);

    // The decision body is optional (approve needs none); when one is sent, it must be a JSON object.
    private static async Task<(Decision? Value, IResult? Problem)> ReadDecisionAsync(HttpRequest request, CancellationToken ct) =>
        request.ContentLength is 0 || !request.HasJsonContentType() ? (null, null) : await ReadJsonAsync<Decision>(request, ct);

    private static IResult Problem(params ValidationError[] errors) => Invalid(errors);
}

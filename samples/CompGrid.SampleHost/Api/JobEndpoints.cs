using System.Security.Claims;
using System.Text.Json;

namespace CompGrid.SampleHost.Api;

/// <summary>The job API: submit, list, get, cancel, logs, approve, reject, nodes.</summary>
public static class JobEndpoints
{
    public const string AdministratorRole = "Administrator";

    public static IEndpointRouteBuilder MapJobEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").RequireAuthorization();

        api.MapPost("/jobs", async (HttpRequest request, ClaimsPrincipal user, ICompGridClient grid, CancellationToken ct) =>
        {
            JobRequest? body;
            try { body = await JsonSerializer.DeserializeAsync<JobRequest>(request.Body, CompGridJson.Options, ct); }
            catch (JsonException ex)
            {
                string field = ex.Path is { Length: > 2 } p ? p.TrimStart('$', '.') : "body";
                return Problem(new ValidationError(field, "has the wrong type or the JSON is malformed"));
            }
            if (body is null) return Problem(new ValidationError("body", "a JSON object is required"));
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
            catch (InsufficientFundsException ex) { return Results.Problem(ex.Message, statusCode: 402, title: "Insufficient funds"); }
            catch (JobRejectedException ex) { return Results.Problem(ex.Message, statusCode: ex.Code switch { "not-a-member" => 403, "insufficient-funds" => 402, _ => 422 }, title: "Job rejected"); }
            catch (CompGridForbiddenException ex) { return Results.Problem(ex.Message, statusCode: 403, title: "Forbidden"); }
        });

        api.MapGet("/jobs", async (ClaimsPrincipal user, ICompGridClient grid, string? state, string? owner, int? limit, CancellationToken ct) =>
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
            var query = new JobQuery { Owner = admin ? owner : user.Identity!.Name, States = states, Limit = limit ?? 200 };
            var jobs = new List<JobRecord>();
            await foreach (var j in grid.ListJobsAsync(query, ct)) jobs.Add(j);
            return Results.Ok(jobs);
        });

        api.MapGet("/jobs/{id}", async (string id, ClaimsPrincipal user, ICompGridClient grid, CancellationToken ct) =>
            await Visible(id, user, grid, ct) is { } job ? Results.Ok(job) : NotFound(id));

        api.MapGet("/jobs/{id}/history", async (string id, ClaimsPrincipal user, ICompGridClient grid, CancellationToken ct) =>
            await Visible(id, user, grid, ct) is null ? NotFound(id) : Results.Ok(await grid.GetHistoryAsync(id, ct)));

        api.MapGet("/jobs/{id}/usage", async (string id, ClaimsPrincipal user, ICompGridClient grid, CancellationToken ct) =>
            await Visible(id, user, grid, ct) is null ? NotFound(id)
                : await grid.GetUsageAsync(id, ct) is { } usage ? Results.Ok(usage) : Results.NoContent());

        api.MapPost("/jobs/{id}/cancel", async (string id, ClaimsPrincipal user, ICompGridClient grid, CancellationToken ct) =>
            await Visible(id, user, grid, ct) is null ? NotFound(id) : Results.Ok(await grid.CancelAsync(id, user.Identity!.Name, ct)));

        api.MapGet("/jobs/{id}/logs", async (string id, ClaimsPrincipal user, ICompGridClient grid, CancellationToken ct) =>
        {
            if (await Visible(id, user, grid, ct) is null) return NotFound(id);
            var logs = await grid.GetLogsAsync(id, ct);
            return Results.Text(logs.StandardOutput + logs.StandardError, "text/plain; charset=utf-8");
        });

        api.MapPost("/jobs/{id}/approve", async (string id, ClaimsPrincipal user, ICompGridClient grid, HttpRequest request, CancellationToken ct) =>
        {
            var decision = await ReadDecisionAsync(request, ct);
            try { return Results.Ok(await grid.ApproveAsync(id, user.Identity!.Name!, decision?.Reason, ct)); }
            catch (JobNotFoundException) { return NotFound(id); }
            catch (InvalidJobStateException ex) { return Results.Problem(ex.Message, statusCode: 409, title: "Wrong state"); }
        }).RequireAuthorization(p => p.RequireRole(AdministratorRole));

        api.MapPost("/jobs/{id}/reject", async (string id, ClaimsPrincipal user, ICompGridClient grid, HttpRequest request, CancellationToken ct) =>
        {
            var decision = await ReadDecisionAsync(request, ct);
            if (string.IsNullOrWhiteSpace(decision?.Reason)) return Problem(new ValidationError("reason", "is required when rejecting a job"));
            try { return Results.Ok(await grid.RejectAsync(id, user.Identity!.Name!, decision.Reason, ct)); }
            catch (JobNotFoundException) { return NotFound(id); }
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

    private static async Task<Decision?> ReadDecisionAsync(HttpRequest request, CancellationToken ct)
    {
        if (request.ContentLength is 0 || !request.HasJsonContentType()) return null;
        try { return await JsonSerializer.DeserializeAsync<Decision>(request.Body, CompGridJson.Options, ct); }
        catch (JsonException) { return null; }
    }

    // Users see their own jobs only; administrators see all. Someone else's job is "not found" (its id is not disclosed).
    private static async Task<JobRecord?> Visible(string id, ClaimsPrincipal user, ICompGridClient grid, CancellationToken ct)
    {
        var job = await grid.GetJobAsync(id, ct);
        if (job is null) return null;
        return user.IsInRole(AdministratorRole) || job.Spec.Owner == user.Identity!.Name ? job : null;
    }

    private static IResult NotFound(string id) => Results.Problem($"Job '{id}' was not found.", statusCode: 404, title: "Not found");

    private static IResult Problem(params ValidationError[] errors) =>
        Results.ValidationProblem(
            errors.GroupBy(e => e.Field).ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray()),
            detail: string.Join("; ", errors.Select(e => $"{e.Field}: {e.Message}")),
            title: "Invalid request");
}

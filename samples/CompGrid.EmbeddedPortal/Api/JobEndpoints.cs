using System.Security.Claims;
using CompGrid.EmbeddedPortal.Authentication;
using Microsoft.AspNetCore.Authorization;

namespace CompGrid.EmbeddedPortal.Api;

/// <summary>What a user posts to <c>/jobs</c>: an executable and its argument list (never a shell string).</summary>
public sealed record SubmitRequest(string? Executable, IReadOnlyList<string>? Arguments, int Cpus = 1, int Minutes = 10, string? Name = null);

/// <summary>Submit, get, list mine, cancel. Every endpoint needs a signed-in user; the owner is always that user.</summary>
internal static class JobEndpoints
{
    public static void MapJobEndpoints(this IEndpointRouteBuilder app)
    {
        var jobs = app.MapGroup("/jobs").RequireAuthorization();

        jobs.MapPost("/", async (SubmitRequest body, ClaimsPrincipal user, ICompGridClient grid, CancellationToken ct) =>
        {
            if (Validate(body) is { } invalid) return invalid;
            var job = await grid.SubmitAsync(new JobSpec
            {
                Name = body.Name ?? Path.GetFileName(body.Executable!),
                Owner = user.Identity!.Name!, // from the authenticated principal, never from the body
                Payload = JobPayload.Exec(body.Executable!, [.. body.Arguments ?? []]),
                Resources = new ResourceRequest { Cpus = body.Cpus },
                Walltime = TimeSpan.FromMinutes(body.Minutes),
            }, ct);
            return Results.Created($"/jobs/{job.Id}", await job.GetAsync(ct));
        });

        jobs.MapGet("/", (ClaimsPrincipal user, ICompGridClient grid, CancellationToken ct) =>
            grid.ListJobsAsync(new JobQuery { Owner = user.Identity!.Name }, ct));

        jobs.MapGet("/{id}", async (string id, ClaimsPrincipal user, ICompGridClient grid, IAuthorizationService auth, CancellationToken ct) =>
            await OwnJobAsync(id, user, grid, auth, ct) is { } job ? Results.Ok(job) : Results.NotFound());

        jobs.MapGet("/{id}/logs", async (string id, ClaimsPrincipal user, ICompGridClient grid, IAuthorizationService auth, CancellationToken ct) =>
            await OwnJobAsync(id, user, grid, auth, ct) is { } job ? Results.Ok(await grid.GetLogsAsync(job.Id, ct)) : Results.NotFound());

        jobs.MapPost("/{id}/cancel", async (string id, ClaimsPrincipal user, ICompGridClient grid, IAuthorizationService auth, CancellationToken ct) =>
            await OwnJobAsync(id, user, grid, auth, ct) is { } job ? Results.Ok(await grid.CancelAsync(job.Id, user.Identity!.Name, ct)) : Results.NotFound());
    }

    // Someone else's job is reported as missing, so ids cannot be probed.
    private static async Task<JobRecord?> OwnJobAsync(string id, ClaimsPrincipal user, ICompGridClient grid, IAuthorizationService auth, CancellationToken ct) =>
        await grid.GetJobAsync(id, ct) is { } job && (await auth.AuthorizeAsync(user, job, JobOwnerRequirement.Policy)).Succeeded ? job : null;

    // The portal's own rules on its form; the engine validates the spec again and its errors map to 400 as well.
    private static IResult? Validate(SubmitRequest body)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(body.Executable) || !Path.IsPathRooted(body.Executable))
            errors["executable"] = ["executable is required and must be an absolute path (for example /bin/echo)."];
        if (body.Cpus < 1) errors["cpus"] = ["cpus must be at least 1."];
        if (body.Minutes is < 1 or > 24 * 60) errors["minutes"] = ["minutes must be between 1 and 1440."];
        return errors.Count == 0 ? null : Results.ValidationProblem(errors);
    }
}

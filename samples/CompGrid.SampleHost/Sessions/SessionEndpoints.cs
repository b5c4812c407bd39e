using System.Security.Claims;
using CompGrid.Sessions;
using static CompGrid.SampleHost.Api.ApiResults;

namespace CompGrid.SampleHost.Sessions;

/// <summary>
/// The session API: <c>POST /api/sessions</c> opens a Jupyter session (a job, charged like any), <c>GET</c> lists or
/// shows them, <c>DELETE /api/sessions/{id}</c> ends one. The notebook itself is reached through <see cref="SessionProxy"/>.
/// </summary>
public static class SessionEndpoints
{
    private sealed record OpenRequest(string? Account);

    /// <summary>Maps the session endpoints.</summary>
    public static IEndpointRouteBuilder MapSessionEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/sessions").RequireAuthorization();
        api.MapPost("", async (HttpRequest request, ClaimsPrincipal user, JupyterSessions sessions, CancellationToken ct) =>
        {
            OpenRequest? body = null;
            if (request.ContentLength is not 0 && request.HasJsonContentType())
            {
                (body, var invalid) = await ReadJsonAsync<OpenRequest>(request, ct);
                if (invalid is not null) return invalid;
            }
            try
            {
                var s = await sessions.OpenAsync(user.Identity!.Name!, body?.Account, ct);
                return Results.Created($"/api/sessions/{s.Id}", s);
            }
            catch (JobValidationException ex) { return Invalid([.. ex.Errors]); }
            catch (JobPolicyException ex) { return PolicyDenied(ex); }
            catch (InsufficientFundsException ex) { return Results.Problem(ex.Message, statusCode: 402, title: "Insufficient funds"); }
            catch (JobRejectedException ex) { return Results.Problem(ex.Message, statusCode: ex.Code == CompGridErrorCodes.NotAMember ? 403 : 422, title: "Session rejected"); }
        }).RequireRateLimiting(Api.RequestLimits.SubmitPolicy);
        api.MapGet("", (ClaimsPrincipal user, JupyterSessions sessions) =>
            Results.Ok(sessions.List(user.IsInRole(AdministratorRole) ? null : user.Identity!.Name)));
        api.MapGet("/{id}", (string id, ClaimsPrincipal user, JupyterSessions sessions) =>
            Visible(id, user, sessions) is { } s ? Results.Ok(s) : NotFound(id));
        api.MapDelete("/{id}", async (string id, ClaimsPrincipal user, JupyterSessions sessions, CancellationToken ct) =>
            Visible(id, user, sessions) is null ? NotFound(id) : Results.Ok(await sessions.CloseAsync(id, user.Identity!.Name, ct)));
        return app;
    }

    // The owner and administrators see a session's record; only the owner reaches its notebook (SessionProxy).
    private static JupyterSession? Visible(string id, ClaimsPrincipal user, JupyterSessions sessions) =>
        sessions.Get(id) is { } s && (s.Owner == user.Identity!.Name || user.IsInRole(AdministratorRole)) ? s : null;

    internal static IResult NotFound(string id) => Results.Problem($"Session '{id}' was not found.", statusCode: 404, title: "Not found");
}

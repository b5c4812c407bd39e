using System.Security.Claims;
using System.Text.Json;

namespace CompGrid.SampleHost.Api;

/// <summary>
/// What every endpoint shares: reading a JSON body into a model (never a 500 for a body), problem details naming the
/// field, and the ownership rule for jobs.
/// </summary>
public static class ApiResults
{
    /// <summary>The role that sees and may do everything.</summary>
    public const string AdministratorRole = "Administrator";

    /// <summary>
    /// Reads the body as <typeparamref name="T"/>. Malformed JSON, a wrong type (an array or a bare string where an
    /// object is expected, a string where a number is), a number out of range or a body over the size limit give a
    /// problem (400 naming the field, or 413) instead of a value.
    /// </summary>
    public static async Task<(T? Value, IResult? Problem)> ReadJsonAsync<T>(HttpRequest request, CancellationToken cancellationToken) where T : class
    {
        try
        {
            var value = await JsonSerializer.DeserializeAsync<T>(request.Body, CompGridJson.Options, cancellationToken);
            return value is null ? (null, Invalid(new ValidationError("body", "a JSON object is required"))) : (value, null);
        }
        catch (JsonException ex)
        {
            string field = ex.Path is { Length: > 2 } p ? p.TrimStart('$', '.') : "body";
            return (null, Invalid(new ValidationError(field, "has the wrong type, is out of range, or the JSON is malformed")));
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, Results.Problem($"The request body is larger than the {request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize} bytes allowed.",
                statusCode: StatusCodes.Status413PayloadTooLarge, title: "Request body too large"));
        }
        catch (BadHttpRequestException ex)
        {
            return (null, Results.Problem(ex.Message, statusCode: ex.StatusCode, title: "Bad request"));
        }
        catch (NotSupportedException ex)
        {
            // System.Text.Json reports some shape mismatches (for example an object for a type it cannot build) this way.
            return (null, Invalid(new ValidationError("body", "has a shape this endpoint does not accept: " + ex.Message)));
        }
    }

    /// <summary>400 with one entry per field.</summary>
    public static IResult Invalid(params ValidationError[] errors) =>
        Results.ValidationProblem(
            errors.GroupBy(e => e.Field).ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray()),
            detail: string.Join("; ", errors.Select(e => $"{e.Field}: {e.Message}")),
            title: "Invalid request");

    /// <summary>403 naming each field the job policy does not allow, with the reason (fields as in the request body).</summary>
    public static IResult PolicyDenied(JobPolicyException ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        var violations = ex.Violations.Select(v => v with { Field = JobRequest.FieldName(v.Field) }).ToList();
        return Results.ValidationProblem(
            violations.GroupBy(v => v.Field).ToDictionary(g => g.Key, g => g.Select(v => v.Reason).ToArray()),
            detail: string.Join("; ", violations),
            title: "Not allowed by the job policy",
            statusCode: StatusCodes.Status403Forbidden,
            extensions: new Dictionary<string, object?> { ["code"] = ex.Code });
    }

    /// <summary>The caller's name (authenticated).</summary>
    public static string Name(ClaimsPrincipal user) => user?.Identity?.Name ?? throw new InvalidOperationException("The request is not authenticated.");

    /// <summary>Whether the caller is an administrator.</summary>
    public static bool IsAdmin(ClaimsPrincipal user) => user?.IsInRole(AdministratorRole) == true;

    /// <summary>
    /// The job when the caller may see it: users see their own jobs, administrators all. Someone else's job is null,
    /// so the endpoint answers "not found" (its id is not disclosed).
    /// </summary>
    public static async Task<JobRecord?> VisibleJobAsync(string id, ClaimsPrincipal user, ICompGridClient grid, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(grid);
        var job = await grid.GetJobAsync(id, ct);
        if (job is null) return null;
        return IsAdmin(user) || job.Spec.Owner == Name(user) ? job : null;
    }

    /// <summary>404 for a job that does not exist or that the caller may not see.</summary>
    public static IResult JobNotFound(string id) => Results.Problem($"Job '{id}' was not found.", statusCode: 404, title: "Not found");
}

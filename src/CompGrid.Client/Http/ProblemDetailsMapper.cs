using System.Net;
using System.Text.Json;

namespace CompGrid.Client;

/// <summary>
/// Turns a portal's error answer (RFC 9457 problem details: title, detail, status, <c>errors</c> per field, <c>code</c>) into
/// the exception the in-process engine would have thrown, so callers catch the same types either way. The one place
/// where HTTP statuses are classified.
/// </summary>
internal static class ProblemDetailsMapper
{
    public static async Task<CompGridException> ToExceptionAsync(HttpResponseMessage response, string operation, string? jobId, CancellationToken cancellationToken)
    {
        string text = "";
        try { text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false); }
        catch (HttpRequestException) { }
        return FromProblem((int)response.StatusCode, text, operation, jobId, response.Headers.RetryAfter?.Delta);
    }

    public static CompGridException FromProblem(int status, string body, string operation, string? jobId, TimeSpan? retryAfter = null)
    {
        string? title = null, detail = null, code = null;
        var fields = new List<(string Field, string Message)>();
        try
        {
            using var doc = JsonDocument.Parse(body.Length == 0 ? "{}" : body);
            if (doc.RootElement.ValueKind == JsonValueKind.Object)
            {
                var root = doc.RootElement;
                title = root.TryGetProperty("title", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
                detail = root.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
                code = root.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
                if (root.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Object)
                    foreach (var field in errors.EnumerateObject())
                        foreach (var item in field.Value.ValueKind == JsonValueKind.Array ? field.Value.EnumerateArray() : default)
                            if (item.GetString() is { } m) fields.Add((field.Name, m));
            }
        }
        catch (JsonException) { detail = body.Length > 500 ? body[..500] : body; }   // not problem details (a proxy's page): keep its start

        string message = $"{operation}: {(int)status} {title ?? ((HttpStatusCode)status).ToString()}{(string.IsNullOrEmpty(detail) ? "" : ": " + detail)}";
        string? id = jobId;
        return status switch
        {
            400 when fields.Count > 0 => new JobValidationException([.. fields.Select(f => new ValidationError(JobRequestBody.SpecField(f.Field), f.Message))]) { Code = CompGridErrorCodes.Invalid, Operation = operation, JobId = id },
            400 or 413 => new JobValidationException("body", detail ?? title ?? "the portal refused the request") { Code = CompGridErrorCodes.Invalid, Operation = operation, JobId = id },
            401 => new CompGridException(message + " (check the bearer token)") { Code = CompGridErrorCodes.Unauthorized, Operation = operation, JobId = id },
            403 when code == CompGridErrorCodes.PolicyDenied => new JobPolicyException([.. fields.Select(f => new PolicyViolation(JobRequestBody.SpecField(f.Field), f.Message))]) { Operation = operation, JobId = id },
            403 => new CompGridForbiddenException(detail ?? message) { Code = code ?? CompGridErrorCodes.Forbidden, Operation = operation, JobId = id },
            404 when id is not null => new JobNotFoundException(id) { Operation = operation },
            404 => new CompGridException(detail ?? message) { Code = CompGridErrorCodes.NotFound, Operation = operation },
            402 => new JobRejectedException(detail ?? message, code ?? CompGridErrorCodes.InsufficientFunds) { Operation = operation, JobId = id },
            422 => new JobRejectedException(detail ?? message, code) { Operation = operation, JobId = id },
            408 => new CompGridException(message) { Code = CompGridErrorCodes.Timeout, IsTransient = true, Operation = operation, JobId = id },
            429 => new CompGridException(message + (retryAfter is { } r ? $" (retry after {r.TotalSeconds:0} s)" : "")) { Code = CompGridErrorCodes.Limit, IsTransient = true, Operation = operation, JobId = id },
            502 or 503 or 504 => new CompGridException(message) { Code = CompGridErrorCodes.Unavailable, IsTransient = true, Operation = operation, JobId = id },
            _ => new CompGridException(message) { Code = code, IsTransient = status >= 500, Operation = operation, JobId = id },
        };
    }
}

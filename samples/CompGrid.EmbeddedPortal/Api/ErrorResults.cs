using Microsoft.AspNetCore.Diagnostics;

namespace CompGrid.EmbeddedPortal.Api;

/// <summary>Maps CompGrid's exceptions to HTTP answers: bad input 400 naming each field, not found 404, refused 403/422.</summary>
internal sealed class ErrorResults : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancellationToken)
    {
        IResult? result = exception switch
        {
            JobValidationException v => Results.ValidationProblem(v.Errors.GroupBy(e => e.Field).ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray())),
            BadHttpRequestException b => Results.Problem(b.Message, statusCode: StatusCodes.Status400BadRequest),
            JobNotFoundException => Results.NotFound(),
            CompGridForbiddenException or JobPolicyException => Results.Problem(exception.Message, statusCode: StatusCodes.Status403Forbidden),
            JobRejectedException or InvalidJobStateException => Results.Problem(exception.Message, statusCode: StatusCodes.Status422UnprocessableEntity),
            CompGridException { IsTransient: true } => Results.Problem(exception.Message, statusCode: StatusCodes.Status503ServiceUnavailable),
            _ => null,
        };
        if (result is null) return false;
        await result.ExecuteAsync(http);
        return true;
    }
}

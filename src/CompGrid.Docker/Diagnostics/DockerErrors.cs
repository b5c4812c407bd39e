using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using Docker.DotNet;

namespace CompGrid.Docker.Diagnostics;

/// <summary>
/// Classifies Engine API failures in one place: an error status with its <c>{"message": …}</c> body becomes a
/// <see cref="CompGridException"/> with code <c>docker-&lt;status&gt;</c>, a connection failure becomes
/// <see cref="UnreachableCode"/>, and <see cref="CompGridException.IsTransient"/> says whether a retry may help.
/// </summary>
internal static class DockerErrors
{
    /// <summary>The error code of a connection failure (the engine is down or unreachable).</summary>
    public const string UnreachableCode = CompGridErrorCodes.EngineUnreachable;

    /// <summary>The error code of a call that did not answer within its timeout.</summary>
    public const string TimeoutCode = CompGridErrorCodes.EngineTimeout;

    /// <summary>The error code of an error reported inside a 200 progress stream (pulls, imports).</summary>
    public const string StreamErrorCode = CompGridErrorCodes.DockerStreamError;

    /// <summary>Whether the engine could not be reached (or answered too late): its node may be failing.</summary>
    public static bool IsEngineFailure(CompGridException e) => e.Code is UnreachableCode or TimeoutCode;

    /// <summary>Whether <paramref name="e"/> is a transport failure (refused, reset, TLS refused, broken stream).</summary>
    public static bool IsConnectionFailure(Exception e) => e switch
    {
        HttpRequestException or SocketException or IOException or System.Security.Authentication.AuthenticationException => true,
        AggregateException a => a.InnerExceptions.Any(IsConnectionFailure),
        _ => false,
    };

    public static CompGridException Unreachable(string backend, string node, string endpoint, string operation, string? jobId, Exception cause) =>
        new($"Docker engine '{node}' ({endpoint}) is unreachable: {Innermost(cause).Message}", cause)
        { Backend = backend, Operation = operation, JobId = jobId, IsTransient = true, Code = UnreachableCode };

    public static CompGridException Timeout(string backend, string node, string endpoint, string operation, string? jobId, TimeSpan limit) =>
        new($"Docker engine '{node}' ({endpoint}): {operation} timed out after {limit}.")
        { Backend = backend, Operation = operation, JobId = jobId, IsTransient = true, Code = TimeoutCode };

    public static CompGridException FromApi(DockerApiException e, string backend, string node, string endpoint, string operation, string? jobId)
    {
        var mapped = FromStatus((int)e.StatusCode, e.ResponseBody ?? "", backend, node, endpoint, operation, jobId);
        return new CompGridException(mapped.Message, e)
        { Backend = mapped.Backend, Operation = mapped.Operation, JobId = jobId, IsTransient = mapped.IsTransient, Code = mapped.Code };
    }

    /// <summary>Maps an error status and body to an exception: 408/429/502/503/504 and 500s that say timeout are transient.</summary>
    public static CompGridException FromStatus(int status, string body, string backend, string node, string endpoint, string operation, string? jobId)
    {
        string message = body.Trim();
        try
        {
            if (message.StartsWith('{') && JsonDocument.Parse(message).RootElement.TryGetProperty("message", out var m) && m.GetString() is { } text) message = text;
        }
        catch (JsonException) { }
        if (message.Length == 0) message = "(no message)";
        bool transient = status is 408 or 429 or 502 or 503 or 504
            || (status == 500 && (message.Contains("timeout", StringComparison.OrdinalIgnoreCase) || message.Contains("temporar", StringComparison.OrdinalIgnoreCase)
                                  || message.Contains("connection refused", StringComparison.OrdinalIgnoreCase)));
        return new CompGridException($"Docker engine '{node}' ({endpoint}): {operation} failed with HTTP {status}: {message}")
        { Backend = backend, Operation = operation.Split(' ')[0], JobId = jobId, IsTransient = transient, Code = CompGridErrorCodes.DockerStatusPrefix + status.ToString(CultureInfo.InvariantCulture) };
    }

    /// <summary>An error inside a progress stream: registry timeouts, TLS handshakes and rate limits are transient.</summary>
    public static CompGridException FromStream(string error, string backend, string node, string endpoint, string operation, string? jobId)
    {
        bool transient = error.Contains("timeout", StringComparison.OrdinalIgnoreCase) || error.Contains("TLS handshake", StringComparison.OrdinalIgnoreCase)
            || error.Contains("too many requests", StringComparison.OrdinalIgnoreCase) || error.Contains("connection reset", StringComparison.OrdinalIgnoreCase);
        return new CompGridException($"Docker engine '{node}' ({endpoint}): {operation} failed: {error}")
        { Backend = backend, Operation = operation.Split(' ')[0], JobId = jobId, IsTransient = transient, Code = StreamErrorCode };
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }
}

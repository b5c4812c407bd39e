namespace CompGrid;

/// <summary>
/// The one exception type of CompGrid. Carries the backend, the operation and the job it concerns, and whether
/// retrying may succeed (<see cref="IsTransient"/>: connection refused, timeouts, a busy controller).
/// </summary>
public class CompGridException : Exception
{
    /// <summary>Creates an exception.</summary>
    public CompGridException() { }

    /// <summary>Creates an exception with a message.</summary>
    public CompGridException(string message) : base(message) { }

    /// <summary>Creates an exception with a message and a cause.</summary>
    public CompGridException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Whether the same operation may succeed if retried.</summary>
    public bool IsTransient { get; init; }

    /// <summary>The backend involved, when any.</summary>
    public string? Backend { get; init; }

    /// <summary>The operation that failed (for example <c>submit</c>, <c>cancel</c>).</summary>
    public string? Operation { get; init; }

    /// <summary>The CompGrid job id involved, when any.</summary>
    public string? JobId { get; init; }

    /// <summary>A machine-readable error code, when any.</summary>
    public string? Code { get; init; }
}

/// <summary>One invalid field of a request: the field's name (as in JSON, camelCase) and the rule it broke.</summary>
public sealed record ValidationError(string Field, string Message)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Field}: {Message}";
}

/// <summary>A job specification (or other request) broke one or more rules; nothing was stored.</summary>
public sealed class JobValidationException : CompGridException
{
    /// <summary>Creates the exception from its errors.</summary>
    public JobValidationException(IReadOnlyList<ValidationError> errors)
        : base("Invalid job specification: " + string.Join("; ", errors)) => Errors = errors;

    /// <summary>Creates the exception for one field.</summary>
    public JobValidationException(string field, string message) : this([new ValidationError(field, message)]) { }

    /// <summary>The invalid fields with their rules.</summary>
    public IReadOnlyList<ValidationError> Errors { get; }
}

/// <summary>The job (or backend job) does not exist.</summary>
public sealed class JobNotFoundException : CompGridException
{
    /// <summary>Creates the exception for a job id.</summary>
    public JobNotFoundException(string jobId) : base($"Job '{jobId}' was not found.") => JobId = jobId;
}

/// <summary>The grant cannot cover the job: the message names the grant, the amount available and the amount needed.</summary>
public sealed class InsufficientFundsException : CompGridException
{
    /// <summary>Creates the exception.</summary>
    public InsufficientFundsException(string account, decimal available, decimal needed, string currency)
        : base($"Grant '{account}' has {available} {currency} available but the job needs {needed} {currency}.")
    {
        Account = account; Available = available; Needed = needed; Currency = currency;
        Code = CompGridErrorCodes.InsufficientFunds;
    }

    /// <summary>The grant code.</summary>
    public string Account { get; }

    /// <summary>The available balance.</summary>
    public decimal Available { get; }

    /// <summary>The amount needed.</summary>
    public decimal Needed { get; }

    /// <summary>The currency.</summary>
    public string Currency { get; }
}

/// <summary>The caller may not do this (not the owner, not an approver, not a member of the grant).</summary>
public sealed class CompGridForbiddenException : CompGridException
{
    /// <summary>Creates the exception.</summary>
    public CompGridForbiddenException(string message) : base(message) { }
}

/// <summary>The job was refused at admission (by a check, or by an approver).</summary>
public sealed class JobRejectedException : CompGridException
{
    /// <summary>Creates the exception.</summary>
    public JobRejectedException(string message, string? code = null) : base(message) => Code = code;
}

/// <summary>The operation is not valid in the job's current state (for example approving a running job).</summary>
public sealed class InvalidJobStateException : CompGridException
{
    /// <summary>Creates the exception.</summary>
    public InvalidJobStateException(string jobId, JobState state, string operation)
        : base($"Job '{jobId}' is {state}; cannot {operation}.") { JobId = jobId; Operation = operation; State = state; }

    /// <summary>The job's state.</summary>
    public JobState State { get; }
}

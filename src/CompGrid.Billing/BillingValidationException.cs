namespace CompGrid.Billing;

/// <summary>A billing request (a grant, an allocation, an adjustment, a quote) broke a rule; nothing was stored.</summary>
public sealed class BillingValidationException : CompGridException
{
    /// <summary>Creates the exception from its errors.</summary>
    public BillingValidationException(IReadOnlyList<ValidationError> errors)
        : base("Invalid billing request: " + string.Join("; ", errors))
    {
        Errors = errors;
        Code = CompGridErrorCodes.Invalid;
    }

    /// <summary>Creates the exception for one field.</summary>
    public BillingValidationException(string field, string message) : this([new ValidationError(field, message)]) { }

    /// <summary>The invalid fields with their rules.</summary>
    public IReadOnlyList<ValidationError> Errors { get; }
}

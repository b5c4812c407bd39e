using System.Management.Automation;
using CompGrid.Billing;

namespace CompGrid.PowerShell;

/// <summary>
/// Turns CompGrid's exceptions into PowerShell error records, in one place: the error id is the exception's code
/// (<see cref="CompGridErrorCodes"/>), the category says what kind of failure it is, so scripts can branch on
/// <c>$_.CategoryInfo.Category</c> or <c>$_.FullyQualifiedErrorId</c>.
/// </summary>
internal static class CompGridErrorRecords
{
    public static ErrorRecord From(Exception exception, object? target)
    {
        var record = new ErrorRecord(exception, ErrorId(exception), Category(exception), target);
        if (exception is JobValidationException { Errors.Count: > 0 } v)
            record.ErrorDetails = new ErrorDetails(exception.Message) { RecommendedAction = "Fix " + string.Join(", ", v.Errors.Select(e => e.Field)) + " and run the command again." };
        else if (exception is BillingValidationException { Errors.Count: > 0 } b)
            record.ErrorDetails = new ErrorDetails(exception.Message) { RecommendedAction = "Fix " + string.Join(", ", b.Errors.Select(e => e.Field)) + " and run the command again." };
        else if (exception is CompGridException { Code: CompGridErrorCodes.NotConnected })
            record.ErrorDetails = new ErrorDetails(exception.Message) { RecommendedAction = "Run Connect-CompGrid -ConfigurationFile <file> or Connect-CompGrid -Uri <portal> -Token <token> first." };
        return record;
    }

    public static ErrorRecord NotConnected(string message) =>
        From(new CompGridException(message) { Code = CompGridErrorCodes.NotConnected }, null);

    private static string ErrorId(Exception exception) => exception switch
    {
        CompGridException { Code: { Length: > 0 } code } => code,
        JobValidationException => CompGridErrorCodes.Invalid,
        JobNotFoundException => CompGridErrorCodes.NotFound,
        InsufficientFundsException => CompGridErrorCodes.InsufficientFunds,
        CompGridForbiddenException => CompGridErrorCodes.Forbidden,
        CompGridException { IsTransient: true } => CompGridErrorCodes.Unavailable,
        _ => exception.GetType().Name,
    };

    private static ErrorCategory Category(Exception exception) => exception switch
    {
        JobValidationException or BillingValidationException => ErrorCategory.InvalidArgument,
        JobNotFoundException => ErrorCategory.ObjectNotFound,
        InsufficientFundsException => ErrorCategory.QuotaExceeded,
        CompGridForbiddenException or JobRejectedException => ErrorCategory.PermissionDenied,
        InvalidJobStateException => ErrorCategory.InvalidOperation,
        CompGridException { IsTransient: true } => ErrorCategory.ConnectionError,
        CompGridException { Code: var code } => code switch
        {
            CompGridErrorCodes.Invalid => ErrorCategory.InvalidArgument,
            CompGridErrorCodes.NotFound or CompGridErrorCodes.UnknownGrant => ErrorCategory.ObjectNotFound,
            CompGridErrorCodes.Forbidden or CompGridErrorCodes.PolicyDenied or CompGridErrorCodes.NotAMember => ErrorCategory.PermissionDenied,
            CompGridErrorCodes.Unauthorized or CompGridErrorCodes.NoToken or CompGridErrorCodes.TokenExpired => ErrorCategory.AuthenticationError,
            CompGridErrorCodes.InsufficientFunds or CompGridErrorCodes.Limit => ErrorCategory.QuotaExceeded,
            CompGridErrorCodes.NotConnected => ErrorCategory.ConnectionError,
            CompGridErrorCodes.Timeout => ErrorCategory.OperationTimeout,
            _ => ErrorCategory.NotSpecified,
        },
        OperationCanceledException => ErrorCategory.OperationStopped,
        _ => ErrorCategory.NotSpecified,
    };
}

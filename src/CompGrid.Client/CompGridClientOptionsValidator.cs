using Microsoft.Extensions.Options;

namespace CompGrid.Client;

/// <summary>
/// Validates <see cref="CompGridClientOptions"/> with messages naming the option and the rule; used by DI
/// (<c>ValidateOnStart</c>) and by <see cref="CompGridClient.Create"/> alike.
/// </summary>
internal sealed class CompGridClientOptionsValidator : IValidateOptions<CompGridClientOptions>
{
    public ValidateOptionsResult Validate(string? name, CompGridClientOptions options)
    {
        var errors = Errors(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public static List<string> Errors(CompGridClientOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        var e = new List<string>();
        const string p = "CompGrid client: ";
        if (o.BaseAddress is null || !o.BaseAddress.IsAbsoluteUri || (o.BaseAddress.Scheme != Uri.UriSchemeHttp && o.BaseAddress.Scheme != Uri.UriSchemeHttps))
            e.Add(p + "BaseAddress is required: an absolute http(s) address of the portal.");
        else if (!string.IsNullOrEmpty(o.BaseAddress.Query) || !string.IsNullOrEmpty(o.BaseAddress.Fragment))
            e.Add(p + "BaseAddress must not have a query or a fragment.");
        if (o.Token is { } t && (t.Length == 0 || t.Any(c => char.IsControl(c) || char.IsWhiteSpace(c))))
            e.Add(p + "Token must be non-empty and contain no spaces or control characters (or be null for none).");
        if (o.RequestTimeout <= TimeSpan.Zero || o.RequestTimeout > TimeSpan.FromHours(1)) e.Add(p + "RequestTimeout must be between 0 (exclusive) and 1 hour.");
        if (o.PollInterval < TimeSpan.FromMilliseconds(10) || o.PollInterval > TimeSpan.FromMinutes(10)) e.Add(p + "PollInterval must be between 10 ms and 10 minutes.");
        if (o.MaxRetryAttempts is < 0 or > 10) e.Add(p + "MaxRetryAttempts must be between 0 and 10.");
        if (o.RetryDelay < TimeSpan.Zero || o.RetryDelay > TimeSpan.FromMinutes(1)) e.Add(p + "RetryDelay must be between 0 and 1 minute.");
        return e;
    }
}

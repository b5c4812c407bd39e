using Microsoft.Extensions.Options;

namespace CompGrid.Billing;

/// <summary>
/// Validates <see cref="GrantBillingOptions"/> through <see cref="GrantBillingOptions.Validate"/>, the one rule set the
/// DI registration (<c>ValidateOnStart</c>) and <see cref="GrantBilling"/>'s factory both apply.
/// </summary>
internal sealed class GrantBillingOptionsValidator : IValidateOptions<GrantBillingOptions>
{
    public ValidateOptionsResult Validate(string? name, GrantBillingOptions options)
    {
        var errors = options.Validate();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors.Select(e => "CompGrid billing: " + e));
    }
}

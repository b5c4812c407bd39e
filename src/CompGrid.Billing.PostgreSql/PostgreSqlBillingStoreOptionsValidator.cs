using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace CompGrid.Billing.PostgreSql;

/// <summary>The one validator of <see cref="PostgreSqlBillingStoreOptions"/>, used by dependency injection (at start-up) and by <see cref="PostgreSqlBilling"/>.</summary>
public sealed partial class PostgreSqlBillingStoreOptionsValidator : IValidateOptions<PostgreSqlBillingStoreOptions>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, PostgreSqlBillingStoreOptions options) => Validate(options, requireConnectionString: true);

    internal static ValidateOptionsResult Validate(PostgreSqlBillingStoreOptions options, bool requireConnectionString)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (requireConnectionString && string.IsNullOrWhiteSpace(options.ConnectionString)) errors.Add("ConnectionString: is required.");
        // The schema is spliced into SQL text: only plain identifiers.
        if (!SchemaPattern().IsMatch(options.Schema ?? "")) errors.Add("Schema: must be 1–63 lower-case letters, digits or '_', starting with a letter or '_'.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors.Select(e => "PostgreSQL billing store: " + e));
    }

    internal static void ThrowIfInvalid(PostgreSqlBillingStoreOptions options, bool requireConnectionString)
    {
        var result = Validate(options, requireConnectionString);
        if (result.Failed) throw new ArgumentException(string.Join(" ", result.Failures), nameof(options));
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex SchemaPattern();
}

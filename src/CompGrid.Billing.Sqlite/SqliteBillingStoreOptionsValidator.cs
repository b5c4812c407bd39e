using Microsoft.Extensions.Options;

namespace CompGrid.Billing.Sqlite;

/// <summary>The one validator of <see cref="SqliteBillingStoreOptions"/>, used by dependency injection (at start-up) and by <see cref="SqliteBilling.CreateStore"/>.</summary>
public sealed class SqliteBillingStoreOptionsValidator : IValidateOptions<SqliteBillingStoreOptions>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, SqliteBillingStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.DatabasePath)) errors.Add("DatabasePath: is required.");
        else if (options.DatabasePath.IndexOf('\0', StringComparison.Ordinal) >= 0) errors.Add("DatabasePath: must not contain a NUL character.");
        if (options.BusyTimeout < TimeSpan.Zero || options.BusyTimeout > TimeSpan.FromHours(1)) errors.Add("BusyTimeout: must be between 0 and 1 hour.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors.Select(e => "SQLite billing store: " + e));
    }

    internal static void ThrowIfInvalid(SqliteBillingStoreOptions options)
    {
        var result = new SqliteBillingStoreOptionsValidator().Validate(null, options);
        if (result.Failed) throw new ArgumentException(string.Join(" ", result.Failures), nameof(options));
    }
}

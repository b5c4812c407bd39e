using System.Text.RegularExpressions;

namespace CompGrid.Storage.PostgreSql;

/// <summary>Settings of the PostgreSQL stores.</summary>
public sealed partial class PostgreSqlStoreOptions
{
    /// <summary>The Npgsql connection string (required), for example <c>Host=db;Database=compgrid;Username=compgrid</c>.</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>The schema holding CompGrid's tables (created if missing). The default is <c>compgrid</c>.</summary>
    public string Schema { get; set; } = "compgrid";

    /// <summary>The advisory lock name that elects the active scheduler. The default is <c>compgrid-scheduler</c>.</summary>
    public string SchedulerLockName { get; set; } = "compgrid-scheduler";

    /// <summary>The problems of these options (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(ConnectionString)) errors.Add("ConnectionString: is required.");
        if (!SchemaPattern().IsMatch(Schema ?? "")) errors.Add("Schema: must be 1–63 lower-case letters, digits or '_', starting with a letter or '_'.");
        if (string.IsNullOrWhiteSpace(SchedulerLockName)) errors.Add("SchedulerLockName: must not be empty.");
        return errors;
    }

    internal void ThrowIfInvalid()
    {
        var errors = Validate();
        if (errors.Count > 0) throw new ArgumentException("Invalid PostgreSQL store options: " + string.Join(" ", errors));
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex SchemaPattern();
}

namespace CompGrid.Billing.Sqlite;

/// <summary>Settings of the SQLite billing store.</summary>
public sealed class SqliteBillingStoreOptions
{
    /// <summary>
    /// The database file (required; created if missing, with its directory). The job store's file is fine: each keeps
    /// its own tables and migrations.
    /// </summary>
    /// <value>The default is empty (it must be set).</value>
    public string DatabasePath { get; set; } = "";

    /// <summary>How long a write waits for another writer's lock on the file before it fails (0 to 1 hour).</summary>
    /// <value>The default is 10 seconds.</value>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

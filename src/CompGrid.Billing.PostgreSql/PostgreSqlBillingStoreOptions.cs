namespace CompGrid.Billing.PostgreSql;

/// <summary>Settings of the PostgreSQL billing store.</summary>
public sealed class PostgreSqlBillingStoreOptions
{
    /// <summary>
    /// The Npgsql connection string, for example <c>Host=db;Database=compgrid;Username=compgrid</c>. Required unless the
    /// store is created on an existing data source.
    /// </summary>
    /// <value>The default is empty.</value>
    public string ConnectionString { get; set; } = "";

    /// <summary>The schema holding the billing tables (created if missing; the job store's schema is fine): 1–63 lower-case letters, digits or '_'.</summary>
    /// <value>The default is <c>compgrid</c>.</value>
    public string Schema { get; set; } = "compgrid";
}

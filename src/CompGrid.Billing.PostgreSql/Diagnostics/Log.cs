using Microsoft.Extensions.Logging;

namespace CompGrid.Billing.PostgreSql.Diagnostics;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Billing schema in PostgreSQL schema {Schema} migrated from version {From} to {To}")]
    public static partial void Migrated(ILogger logger, string schema, int from, int to);
}

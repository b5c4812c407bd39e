using Microsoft.Extensions.Logging;

namespace CompGrid.Billing.Sqlite.Diagnostics;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Billing schema in {DatabasePath} migrated from version {From} to {To}")]
    public static partial void Migrated(ILogger logger, string databasePath, int from, int to);
}

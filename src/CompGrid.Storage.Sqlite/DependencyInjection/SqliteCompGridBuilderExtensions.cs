using CompGrid;
using CompGrid.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the SQLite stores.</summary>
public static class SqliteCompGridBuilderExtensions
{
    /// <summary>Stores jobs in the SQLite file at <paramref name="path"/>.</summary>
    public static ICompGridBuilder UseSqliteStore(this ICompGridBuilder builder, string path)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(path);
        builder.Services.TryAddSingleton(new SqliteConnectionFactory(path));
        builder.Services.Replace(ServiceDescriptor.Singleton<IJobStore>(sp => new SqliteJobStore(sp.GetRequiredService<SqliteConnectionFactory>())));
        return builder;
    }
}

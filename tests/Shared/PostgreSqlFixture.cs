using CompGrid.Testing;
using Npgsql;

namespace CompGrid.Tests.PostgreSql;

// One file, compiled into every test project that needs the PostgreSQL started by eng/backends/postgresql.sh
// (<Compile Include="..\Shared\PostgreSqlFixture.cs" />), so the fixture is written once.

/// <summary>A theory that needs the PostgreSQL started by <c>eng/backends/postgresql.sh</c> (skipped when it is not running, failing under COMPGRID_REQUIRE_BACKENDS=1).</summary>
public sealed class PostgreSqlTheoryAttribute : TheoryAttribute
{
    public const string Variable = "COMPGRID_POSTGRES_CONNECTION";

    public PostgreSqlTheoryAttribute()
    {
        if (!BackendEnvironment.IsAvailable(Variable) && !BackendEnvironment.Required)
            Skip = $"PostgreSQL is not running ({Variable} is unset); start it with eng/test.sh or eng/backends/postgresql.sh start.";
    }
}

/// <summary>One data source per test run; every store gets a fresh schema, dropped at the end.</summary>
public sealed class PostgreSqlFixture : IAsyncLifetime
{
    private readonly List<string> _schemas = [];
    private NpgsqlDataSource? _dataSource;

    public string ConnectionString => BackendEnvironment.Get(PostgreSqlTheoryAttribute.Variable, "PostgreSQL");

    public NpgsqlDataSource DataSource => _dataSource ??= NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(ConnectionString) { MaxPoolSize = 30 }.ConnectionString);

    public string NewSchema()
    {
        var s = "t_" + Guid.NewGuid().ToString("N")[..16];
        lock (_schemas) _schemas.Add(s);
        return s;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_dataSource is null) return;
        foreach (var s in _schemas)
        {
            await using var cmd = _dataSource.CreateCommand($"DROP SCHEMA IF EXISTS {s} CASCADE");
            await cmd.ExecuteNonQueryAsync();
        }
        await _dataSource.DisposeAsync();
    }
}

[CollectionDefinition("PostgreSql")]
public sealed class PostgreSqlCollection : ICollectionFixture<PostgreSqlFixture>;

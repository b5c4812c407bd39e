using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace CompGrid.Storage.Sqlite;

/// <summary>
/// A statement of the writer's hot path, prepared once on its connection and bound by position. The writer runs a few
/// statements per submission; through <see cref="SqliteCommand"/> each execution looks every parameter up by name and
/// allocates a data reader, which cost more than SQLite's own insert. Errors surface as <see cref="SqliteException"/>.
/// </summary>
internal sealed class RawStatement : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _stmt;

    public RawStatement(SqliteConnection connection, string sql)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("The writer's connection is not open.");
        int rc = raw.sqlite3_prepare_v3(_db, sql, raw.SQLITE_PREPARE_PERSISTENT, out _stmt);
        SqliteException.ThrowExceptionForRC(rc, _db);
    }

    /// <summary>Binds parameter <paramref name="index"/> (1-based) to text, or NULL.</summary>
    public void Text(int index, string? value) =>
        Check(value is null ? raw.sqlite3_bind_null(_stmt, index) : raw.sqlite3_bind_text(_stmt, index, value));

    /// <summary>Binds parameter <paramref name="index"/> (1-based) to an integer.</summary>
    public void Int(int index, long value) => Check(raw.sqlite3_bind_int64(_stmt, index, value));

    /// <summary>Runs the statement to completion and returns the rows it changed.</summary>
    public int Execute()
    {
        int rc = raw.sqlite3_step(_stmt);
        try
        {
            if (rc != raw.SQLITE_DONE) SqliteException.ThrowExceptionForRC(rc, _db);
            return raw.sqlite3_changes(_db);
        }
        finally
        {
            raw.sqlite3_reset(_stmt);
        }
    }

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK) SqliteException.ThrowExceptionForRC(rc, _db);
    }

    public void Dispose() => _stmt.Dispose();
}

using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace CompGrid.Storage.Sqlite;

// The notification outbox half of the job store: the table is in the same file as the jobs, so a terminal transition
// and its notifications commit together (TryUpdateWithMessagesAsync).
public sealed partial class SqliteJobStore
{
    internal const string OutboxColumns = "id, job_id, notifier, state, attempts, created_at, next_attempt_at, delivered_at, last_error, notification";

    /// <inheritdoc/>
    public async Task EnqueueAsync(IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0) return;
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        await _writer.WriteAsync(JobWrite.Enqueue(messages), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<OutboxMessage>> ClaimDueAsync(DateTimeOffset now, DateTimeOffset claimUntil, int limit, CancellationToken cancellationToken = default)
    {
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        // BEGIN IMMEDIATE holds the file's write lock from the select to the update: two workers never claim one message.
        using var tx = await SqliteConnectionFactory.BeginWriteAsync(c, cancellationToken).ConfigureAwait(false);
        var due = new List<OutboxMessage>();
        using (var q = c.CreateCommand())
        {
            q.Transaction = tx;
            q.CommandText = $"SELECT {OutboxColumns} FROM notification_outbox WHERE state = 'Pending' AND next_attempt_at <= $now ORDER BY next_attempt_at, seq LIMIT $limit";
            q.Parameters.AddWithValue("$now", now.UtcTicks);
            q.Parameters.AddWithValue("$limit", limit);
            using var r = await q.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await r.ReadAsync(cancellationToken).ConfigureAwait(false)) due.Add(ReadMessage(r) with { NextAttemptAt = claimUntil });
        }
        foreach (var m in due)
        {
            using var u = c.CreateCommand();
            u.Transaction = tx;
            u.CommandText = "UPDATE notification_outbox SET next_attempt_at = $until WHERE id = $id";
            u.Parameters.AddWithValue("$until", claimUntil.UtcTicks);
            u.Parameters.AddWithValue("$id", m.Id);
            await u.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return due;
    }

    /// <inheritdoc/>
    public async Task MarkDeliveredAsync(string messageId, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var cmd = c.CreateCommand();
        cmd.CommandText = "UPDATE notification_outbox SET state = 'Delivered', attempts = attempts + 1, delivered_at = $at WHERE id = $id AND state = 'Pending'";
        cmd.Parameters.AddWithValue("$at", at.UtcTicks);
        cmd.Parameters.AddWithValue("$id", messageId);
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task MarkFailedAsync(string messageId, string error, DateTimeOffset? retryAt, CancellationToken cancellationToken = default)
    {
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            UPDATE notification_outbox SET attempts = attempts + 1, last_error = $error,
                state = CASE WHEN $retry IS NULL THEN 'DeadLettered' ELSE 'Pending' END,
                next_attempt_at = COALESCE($retry, next_attempt_at)
            WHERE id = $id AND state = 'Pending'
            """;
        cmd.Parameters.AddWithValue("$error", error);
        cmd.Parameters.AddWithValue("$retry", (object?)retryAt?.UtcTicks ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$id", messageId);
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<OutboxMessage?> GetMessageAsync(string messageId, CancellationToken cancellationToken = default)
    {
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT {OutboxColumns} FROM notification_outbox WHERE id = $id";
        cmd.Parameters.AddWithValue("$id", messageId);
        using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await r.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadMessage(r) : null;
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<OutboxMessage> QueryMessagesAsync(OutboxMessageState? state = null, int limit = 1000, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var cmd = c.CreateCommand();
        var sql = new StringBuilder($"SELECT {OutboxColumns} FROM notification_outbox");
        if (state is { } s) { sql.Append(" WHERE state = $state"); cmd.Parameters.AddWithValue("$state", s.ToString()); }
        sql.Append(" ORDER BY seq LIMIT $limit");
        cmd.Parameters.AddWithValue("$limit", limit);
        cmd.CommandText = sql.ToString();
        using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false)) yield return ReadMessage(r);
    }

    private static OutboxMessage ReadMessage(SqliteDataReader r) => new()
    {
        Id = r.GetString(0),
        JobId = r.GetString(1),
        Notifier = r.GetString(2),
        State = Enum.Parse<OutboxMessageState>(r.GetString(3)),
        Attempts = r.GetInt32(4),
        CreatedAt = new DateTimeOffset(r.GetInt64(5), TimeSpan.Zero),
        NextAttemptAt = new DateTimeOffset(r.GetInt64(6), TimeSpan.Zero),
        DeliveredAt = r.IsDBNull(7) ? null : new DateTimeOffset(r.GetInt64(7), TimeSpan.Zero),
        LastError = r.IsDBNull(8) ? null : r.GetString(8),
        Notification = Deserialize<JobNotification>(r.GetString(9)),
    };
}

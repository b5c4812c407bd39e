using System.Runtime.CompilerServices;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace CompGrid.Storage.PostgreSql;

// The notification outbox half of the job store: same database as the jobs, so a terminal transition and its
// notifications commit together; claims use FOR UPDATE SKIP LOCKED, so several instances drain one outbox safely.
public sealed partial class PostgreSqlJobStore
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
        using var cmd = new NpgsqlCommand($"""
            WITH due AS (
                SELECT seq, next_attempt_at AS was FROM {_s}.notification_outbox
                WHERE state = 'Pending' AND next_attempt_at <= $1
                ORDER BY next_attempt_at, seq LIMIT $3
                FOR UPDATE SKIP LOCKED)
            UPDATE {_s}.notification_outbox o SET next_attempt_at = $2 FROM due WHERE o.seq = due.seq
            RETURNING due.was, o.seq, {string.Join(", ", OutboxColumns.Split(", ").Select(col => "o." + col))}
            """, c);
        cmd.Parameters.AddWithValue(now.ToUniversalTime());
        cmd.Parameters.AddWithValue(claimUntil.ToUniversalTime());
        cmd.Parameters.AddWithValue((long)limit);
        var claimed = new List<(DateTimeOffset Was, long Seq, OutboxMessage Message)>();
        using (var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            while (await r.ReadAsync(cancellationToken).ConfigureAwait(false)) claimed.Add((r.GetFieldValue<DateTimeOffset>(0), r.GetInt64(1), ReadMessage(r, 2)));
        // RETURNING does not keep the subquery's order: restore "oldest due first".
        return claimed.OrderBy(x => x.Was).ThenBy(x => x.Seq).Select(x => x.Message).ToList();
    }

    /// <inheritdoc/>
    public async Task MarkDeliveredAsync(string messageId, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var cmd = new NpgsqlCommand($"UPDATE {_s}.notification_outbox SET state = 'Delivered', attempts = attempts + 1, delivered_at = $2 WHERE id = $1 AND state = 'Pending'", c);
        cmd.Parameters.AddWithValue(messageId);
        cmd.Parameters.AddWithValue(at.ToUniversalTime());
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task MarkFailedAsync(string messageId, string error, DateTimeOffset? retryAt, CancellationToken cancellationToken = default)
    {
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var cmd = new NpgsqlCommand($"""
            UPDATE {_s}.notification_outbox SET attempts = attempts + 1, last_error = $2,
                state = CASE WHEN $3::timestamptz IS NULL THEN 'DeadLettered' ELSE 'Pending' END,
                next_attempt_at = COALESCE($3::timestamptz, next_attempt_at)
            WHERE id = $1 AND state = 'Pending'
            """, c);
        cmd.Parameters.AddWithValue(messageId);
        cmd.Parameters.AddWithValue(error);
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)retryAt?.ToUniversalTime() ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<OutboxMessage?> GetMessageAsync(string messageId, CancellationToken cancellationToken = default)
    {
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var cmd = new NpgsqlCommand($"SELECT {OutboxColumns} FROM {_s}.notification_outbox WHERE id = $1", c);
        cmd.Parameters.AddWithValue(messageId);
        using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await r.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadMessage(r, 0) : null;
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<OutboxMessage> QueryMessagesAsync(OutboxMessageState? state = null, int limit = 1000, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var cmd = new NpgsqlCommand($"SELECT {OutboxColumns} FROM {_s}.notification_outbox WHERE ($1::text IS NULL OR state = $1) ORDER BY seq LIMIT $2", c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)state?.ToString() ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.AddWithValue((long)limit);
        using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false)) yield return ReadMessage(r, 0);
    }

    private static OutboxMessage ReadMessage(NpgsqlDataReader r, int o) => new()
    {
        Id = r.GetString(o),
        JobId = r.GetString(o + 1),
        Notifier = r.GetString(o + 2),
        State = Enum.Parse<OutboxMessageState>(r.GetString(o + 3)),
        Attempts = r.GetInt32(o + 4),
        CreatedAt = r.GetFieldValue<DateTimeOffset>(o + 5),
        NextAttemptAt = r.GetFieldValue<DateTimeOffset>(o + 6),
        DeliveredAt = r.IsDBNull(o + 7) ? null : r.GetFieldValue<DateTimeOffset>(o + 7),
        LastError = r.IsDBNull(o + 8) ? null : r.GetString(o + 8),
        Notification = Deserialize<JobNotification>(r.GetString(o + 9)),
    };
}

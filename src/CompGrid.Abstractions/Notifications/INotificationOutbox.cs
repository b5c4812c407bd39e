namespace CompGrid;

/// <summary>
/// The durable outbox of job notifications, kept by the job store. The engine writes messages (in the same
/// transaction as the job's change with <see cref="TryUpdateWithMessagesAsync"/>); a background worker claims the due
/// ones, hands each to its notifier outside the engine's lock, and records the outcome. Delivery is at least once:
/// a worker that dies between sending and <see cref="MarkDeliveredAsync"/> leaves the message to be claimed again when
/// its claim lapses. Implementations must be safe under concurrent use, also by several processes on one store.
/// </summary>
public interface INotificationOutbox
{
    /// <summary>
    /// Stores the messages that are not stored yet (by <see cref="OutboxMessage.Id"/>); existing ones are left as they
    /// are, so writing a notification again after a crash changes nothing.
    /// </summary>
    Task EnqueueAsync(IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken = default);

    /// <summary>
    /// <see cref="IJobStore.TryUpdateAsync"/> and <see cref="EnqueueAsync"/> in one transaction: the messages are
    /// stored exactly when the update succeeds.
    /// </summary>
    Task<bool> TryUpdateWithMessagesAsync(JobRecord job, long expectedVersion, JobTransition? transition, IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken = default);

    /// <summary>
    /// Claims up to <paramref name="limit"/> pending messages due at <paramref name="now"/>, oldest due first, by moving
    /// their <see cref="OutboxMessage.NextAttemptAt"/> to <paramref name="claimUntil"/> so that no other worker takes them
    /// before then. Returns the claimed messages (their <see cref="OutboxMessage.NextAttemptAt"/> is the claim's end).
    /// </summary>
    Task<IReadOnlyList<OutboxMessage>> ClaimDueAsync(DateTimeOffset now, DateTimeOffset claimUntil, int limit, CancellationToken cancellationToken = default);

    /// <summary>Records a successful attempt: the message becomes <see cref="OutboxMessageState.Delivered"/> and counts the attempt.</summary>
    Task MarkDeliveredAsync(string messageId, DateTimeOffset at, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records a failed attempt: counts it and keeps <paramref name="error"/>; the message is due again at
    /// <paramref name="retryAt"/>, or becomes <see cref="OutboxMessageState.DeadLettered"/> when it is null.
    /// A message that is no longer pending is left unchanged.
    /// </summary>
    Task MarkFailedAsync(string messageId, string error, DateTimeOffset? retryAt, CancellationToken cancellationToken = default);

    /// <summary>One message, or null.</summary>
    Task<OutboxMessage?> GetMessageAsync(string messageId, CancellationToken cancellationToken = default);

    /// <summary>Messages in <paramref name="state"/> (every state when null), oldest first, at most <paramref name="limit"/>.</summary>
    IAsyncEnumerable<OutboxMessage> QueryMessagesAsync(OutboxMessageState? state = null, int limit = 1000, CancellationToken cancellationToken = default);
}

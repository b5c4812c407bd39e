namespace CompGrid;

/// <summary>A job changed state.</summary>
public sealed record JobNotification
{
    /// <summary>The job after the change.</summary>
    public required JobRecord Job { get; init; }

    /// <summary>The state before the change.</summary>
    public JobState? PreviousState { get; init; }

    /// <summary>When.</summary>
    public DateTimeOffset At { get; init; }

    /// <summary>
    /// The outbox message's idempotency id (<see cref="OutboxMessage.Id"/>), set by the outbox worker on each attempt;
    /// the same on every retry, so receivers drop duplicates of an at-least-once delivery. Null outside the outbox.
    /// </summary>
    public string? MessageId { get; init; }

    /// <inheritdoc/>
    public override string ToString() => $"{Job.Id} {PreviousState?.ToString() ?? "-"} -> {Job.State}";
}

/// <summary>
/// Tells people or systems that a job changed state (log, webhook, e-mail). The engine never calls a notifier itself:
/// it writes an <see cref="OutboxMessage"/> per notifier that <see cref="Accepts"/> the notification, and the outbox
/// worker calls <see cref="NotifyAsync"/> outside the engine's lock, with a per-attempt timeout. A notifier throws to
/// ask for another attempt later (a <see cref="CompGridException"/> with <see cref="CompGridException.IsTransient"/>
/// false ends the message in the dead-letter state at once); it never affects the job.
/// </summary>
public interface IJobNotifier
{
    /// <summary>The notifier's name, unique among the registered notifiers and stable across restarts (messages are stored under it).</summary>
    string Name => GetType().Name;

    /// <summary>Whether this notifier has anything to send for <paramref name="notification"/> (for example the job has an e-mail address).</summary>
    bool Accepts(JobNotification notification) => true;

    /// <summary>Sends one notification (its <see cref="JobNotification.MessageId"/> is the idempotency id receivers see on every retry).</summary>
    ValueTask NotifyAsync(JobNotification notification, CancellationToken cancellationToken = default);
}

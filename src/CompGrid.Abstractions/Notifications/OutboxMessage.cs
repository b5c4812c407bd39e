namespace CompGrid;

/// <summary>Where an <see cref="OutboxMessage"/> is in its life.</summary>
public enum OutboxMessageState
{
    /// <summary>Waiting for its first or next attempt (at <see cref="OutboxMessage.NextAttemptAt"/>).</summary>
    Pending,

    /// <summary>Its notifier accepted it; it is never sent again.</summary>
    Delivered,

    /// <summary>Every allowed attempt failed, or the notifier refused it for good; kept for operators, never sent again.</summary>
    DeadLettered,
}

/// <summary>
/// One notification for one notifier, kept durably in the job store until that notifier accepts it. The
/// <see cref="Id"/> is deterministic (job id, job version and notifier name), so writing the same notification twice
/// stores it once, and receivers use it as the idempotency key of an at-least-once delivery.
/// </summary>
public sealed record OutboxMessage
{
    /// <summary>The idempotency id: <c>{jobId}:v{version}:{notifier}</c> (see <see cref="MakeId"/>).</summary>
    public string Id { get; init; } = "";

    /// <summary>The job the notification is about.</summary>
    public string JobId { get; init; } = "";

    /// <summary>The <see cref="IJobNotifier.Name"/> of the notifier that delivers it.</summary>
    public string Notifier { get; init; } = "";

    /// <summary>What happened: the job as stored after the change.</summary>
    public required JobNotification Notification { get; init; }

    /// <summary>The delivery state.</summary>
    public OutboxMessageState State { get; init; }

    /// <summary>Attempts made so far.</summary>
    public int Attempts { get; init; }

    /// <summary>When the message was written.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the next attempt is due (a claimed message is due again when its claim lapses).</summary>
    public DateTimeOffset NextAttemptAt { get; init; }

    /// <summary>When the notifier accepted it, once delivered.</summary>
    public DateTimeOffset? DeliveredAt { get; init; }

    /// <summary>The last attempt's error, or null.</summary>
    public string? LastError { get; init; }

    /// <summary>The deterministic id of the message for <paramref name="notification"/> and <paramref name="notifier"/>.</summary>
    public static string MakeId(JobNotification notification, string notifier)
    {
        ArgumentNullException.ThrowIfNull(notification);
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{notification.Job.Id}:v{notification.Job.Version}:{notifier}");
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Id} {State} attempts={Attempts} next={NextAttemptAt:O}";
}

using CompGrid.Notifications;
using Microsoft.Extensions.Logging;

namespace CompGrid;

/// <summary>
/// The engine's side of the outbox: decides whether a job's change is notified (its <see cref="NotificationSettings.OnStates"/>,
/// or by default every terminal state, AwaitingApproval and Running) and turns it into one <see cref="OutboxMessage"/>
/// per notifier that accepts it. Writing is either part of the job's own update (<see cref="INotificationOutbox.TryUpdateWithMessagesAsync"/>)
/// or a separate, idempotent <see cref="PublishAsync"/>; then the worker is woken. Nothing here waits on a receiver.
/// </summary>
internal sealed class NotificationOutboxWriter
{
    private readonly INotificationOutbox _outbox;
    private readonly IReadOnlyList<IJobNotifier> _notifiers;
    private readonly NotificationOutboxWorker? _worker;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public NotificationOutboxWriter(INotificationOutbox outbox, IEnumerable<IJobNotifier> notifiers, TimeProvider time, ILogger logger, NotificationOutboxWorker? worker = null)
    {
        _outbox = outbox;
        _notifiers = notifiers.ToList();
        _time = time;
        _logger = logger;
        _worker = worker;
    }

    public INotificationOutbox Outbox => _outbox;

    public static bool IsWanted(JobRecord job)
    {
        var settings = job.Spec.Notifications;
        return settings is { OnStates.Count: > 0 }
            ? settings.OnStates.Contains(job.State)
            : job.IsTerminal || job.State == JobState.AwaitingApproval || job.State == JobState.Running;
    }

    /// <summary>The messages for <paramref name="job"/> as stored after a change from <paramref name="previous"/> (none when not wanted).</summary>
    public IReadOnlyList<OutboxMessage> MessagesFor(JobRecord job, JobState? previous)
    {
        if (!IsWanted(job)) return [];
        var now = _time.GetUtcNow();
        var n = new JobNotification { Job = job, PreviousState = previous, At = now };
        var list = new List<OutboxMessage>(_notifiers.Count);
        foreach (var notifier in _notifiers)
        {
            if (!notifier.Accepts(n)) continue;
            list.Add(new OutboxMessage
            {
                Id = OutboxMessage.MakeId(n, notifier.Name), JobId = job.Id, Notifier = notifier.Name, Notification = n,
                State = OutboxMessageState.Pending, CreatedAt = now, NextAttemptAt = now,
            });
        }
        return list;
    }

    /// <summary>Writes the messages for a change already stored (idempotent by message id) and wakes the worker. Never throws.</summary>
    public async Task PublishAsync(JobRecord job, JobState? previous, CancellationToken cancellationToken)
    {
        var messages = MessagesFor(job, previous);
        if (messages.Count == 0) return;
        try
        {
            await _outbox.EnqueueAsync(messages, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.EnqueueFailed(_logger, job.Id, ex);
            return;
        }
        Wake();
    }

    /// <summary>Tells the worker that messages were written.</summary>
    public void Wake() => _worker?.Wake();
}

namespace CompGrid;

/// <summary>
/// Where the engine sends job notifications (awaiting approval, approved, running and every terminal state, or the
/// states the job asked for): the one place a state change leaves the engine for the notifiers. It only writes the
/// notification to the durable outbox in the job store (one message per notifier, idempotent by message id) and wakes
/// the outbox worker; no notifier is called here, so no receiver can hold the engine's lock or delay a job.
/// </summary>
internal sealed class JobNotificationSender(NotificationOutboxWriter outbox)
{
    /// <summary>Writes the job's current state to the outbox, when the job wants to hear about it. Never throws.</summary>
    public Task SendAsync(JobRecord job, JobState? previous) => outbox.PublishAsync(job, previous, CancellationToken.None);
}

using Microsoft.Extensions.Logging;

namespace CompGrid;

/// <summary>
/// Where the engine sends job notifications (awaiting approval, approved, running and every terminal state, or the
/// states the job asked for): the one place a state change leaves the engine for the notifiers. Today it calls each
/// notifier directly and logs a failure; a notifier never fails the engine.
/// </summary>
internal sealed class JobNotificationSender(IReadOnlyList<IJobNotifier> notifiers, TimeProvider time, ILogger logger)
{
    /// <summary>Sends the job's current state to every notifier, when the job wants to hear about it.</summary>
    public async Task SendAsync(JobRecord job, JobState? previous)
    {
        var settings = job.Spec.Notifications;
        bool wanted = settings is { OnStates.Count: > 0 }
            ? settings.OnStates.Contains(job.State)
            : job.IsTerminal || job.State == JobState.AwaitingApproval || job.State == JobState.Running;
        if (!wanted) return;
        var n = new JobNotification { Job = job, PreviousState = previous, At = time.GetUtcNow() };
        foreach (var notifier in notifiers)
        {
            try { await notifier.NotifyAsync(n, CancellationToken.None).ConfigureAwait(false); }
            catch (Exception ex) { Log.NotifyFailed(logger, job.Id, ex); }
        }
    }
}

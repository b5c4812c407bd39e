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

    /// <inheritdoc/>
    public override string ToString() => $"{Job.Id} {PreviousState?.ToString() ?? "-"} -> {Job.State}";
}

/// <summary>Tells people or systems that a job changed state (log, webhook, e-mail). Failures are logged, never fatal to the job.</summary>
public interface IJobNotifier
{
    /// <summary>Sends one notification.</summary>
    ValueTask NotifyAsync(JobNotification notification, CancellationToken cancellationToken = default);
}

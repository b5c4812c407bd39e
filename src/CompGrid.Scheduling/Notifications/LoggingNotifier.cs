using Microsoft.Extensions.Logging;

namespace CompGrid;

/// <summary>Writes each notification to the log.</summary>
public sealed partial class LoggingNotifier : IJobNotifier
{
    private readonly ILogger<LoggingNotifier> _logger;

    /// <summary>Creates the notifier.</summary>
    public LoggingNotifier(ILogger<LoggingNotifier> logger) => _logger = logger;

    /// <inheritdoc/>
    public ValueTask NotifyAsync(JobNotification notification, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(notification);
        var j = notification.Job;
        Log(_logger, j.Id, j.Spec.Name, j.Spec.Owner, notification.PreviousState?.ToString() ?? "-", j.State, j.Reason ?? "");
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Job {JobId} ({Name}, {Owner}): {Previous} -> {State} {Reason}")]
    private static partial void Log(ILogger logger, string jobId, string name, string owner, string previous, JobState state, string reason);
}

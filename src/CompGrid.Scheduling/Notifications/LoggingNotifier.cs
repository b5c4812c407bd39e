using CompGrid.Notifications;
using Microsoft.Extensions.Logging;

namespace CompGrid;

/// <summary>Writes each notification to the log.</summary>
internal sealed class LoggingNotifier : IJobNotifier
{
    private readonly ILogger<LoggingNotifier> _logger;

    /// <summary>Creates the notifier.</summary>
    public LoggingNotifier(ILogger<LoggingNotifier> logger) => _logger = logger;

    /// <summary>The notifier's name in the outbox: <c>log</c>.</summary>
    public string Name => "log";

    /// <inheritdoc/>
    public ValueTask NotifyAsync(JobNotification notification, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(notification);
        var j = notification.Job;
        Log.JobChanged(_logger, j.Id, j.Spec.Name, j.Spec.Owner, notification.PreviousState?.ToString() ?? "-", j.State, j.Reason ?? "");
        return ValueTask.CompletedTask;
    }
}

using Microsoft.Extensions.Options;

namespace CompGrid;

/// <summary>How the outbox worker drains the notification outbox.</summary>
public sealed class NotificationOutboxOptions
{
    /// <summary>How long one attempt (one notifier call) may take before it is cancelled and counted as failed.</summary>
    /// <value>The default is 15 seconds.</value>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Attempts before a message is dead-lettered (kept, never sent again).</summary>
    /// <value>The default is 8.</value>
    public int MaxAttempts { get; set; } = 8;

    /// <summary>The delay before the second attempt; each later one doubles it, up to <see cref="MaxRetryDelay"/>.</summary>
    /// <value>The default is 10 seconds.</value>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest delay between two attempts.</summary>
    /// <value>The default is 30 minutes.</value>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>How often the worker looks for due messages when nothing wakes it.</summary>
    /// <value>The default is 5 seconds.</value>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Messages claimed per round.</summary>
    /// <value>The default is 50.</value>
    public int BatchSize { get; set; } = 50;

    /// <summary>Notifier calls in flight at once, so that one slow receiver does not hold up the others.</summary>
    /// <value>The default is 8.</value>
    public int MaxConcurrency { get; set; } = 8;
}

/// <summary>
/// Checks <see cref="NotificationOutboxOptions"/>; used by DI (<c>ValidateOnStart</c>) and by
/// <see cref="NotificationOutboxWorker.Create"/> alike.
/// </summary>
public sealed class NotificationOutboxOptionsValidator : IValidateOptions<NotificationOutboxOptions>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, NotificationOutboxOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.AttemptTimeout <= TimeSpan.Zero || options.AttemptTimeout > TimeSpan.FromMinutes(10))
            errors.Add("AttemptTimeout must be more than 0 and at most 10 minutes.");
        if (options.MaxAttempts is < 1 or > 100) errors.Add("MaxAttempts must be between 1 and 100.");
        if (options.RetryDelay <= TimeSpan.Zero) errors.Add("RetryDelay must be more than 0.");
        if (options.MaxRetryDelay < options.RetryDelay) errors.Add("MaxRetryDelay must be at least RetryDelay.");
        if (options.PollInterval <= TimeSpan.Zero || options.PollInterval > TimeSpan.FromHours(1)) errors.Add("PollInterval must be more than 0 and at most 1 hour.");
        if (options.BatchSize is < 1 or > 10_000) errors.Add("BatchSize must be between 1 and 10000.");
        if (options.MaxConcurrency is < 1 or > 256) errors.Add("MaxConcurrency must be between 1 and 256.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    internal static void ThrowIfInvalid(NotificationOutboxOptions options)
    {
        var result = new NotificationOutboxOptionsValidator().Validate(null, options);
        if (result.Failed) throw new OptionsValidationException(Options.DefaultName, typeof(NotificationOutboxOptions), result.Failures);
    }
}

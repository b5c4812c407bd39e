using System.Threading.Channels;
using CompGrid.Notifications;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CompGrid;

/// <summary>The outcome of one delivery attempt of an outbox message.</summary>
public sealed class OutboxAttemptEventArgs : EventArgs
{
    internal OutboxAttemptEventArgs(OutboxMessage message, OutboxMessageState state, int attempts, string? error, DateTimeOffset? retryAt)
    {
        Message = message;
        State = state;
        Attempts = attempts;
        Error = error;
        RetryAt = retryAt;
    }

    /// <summary>The message as it was claimed.</summary>
    public OutboxMessage Message { get; }

    /// <summary>The message's state after the attempt.</summary>
    public OutboxMessageState State { get; }

    /// <summary>Attempts made, this one included.</summary>
    public int Attempts { get; }

    /// <summary>The attempt's error, or null when it was delivered.</summary>
    public string? Error { get; }

    /// <summary>When the next attempt is due, or null when there is none.</summary>
    public DateTimeOffset? RetryAt { get; }
}

/// <summary>
/// Drains the notification outbox in the background: claims the due messages, calls each one's notifier with a
/// per-attempt timeout (on the injected <see cref="TimeProvider"/>), records delivery, or schedules a retry with
/// exponential backoff, or dead-letters the message after <see cref="NotificationOutboxOptions.MaxAttempts"/>.
/// It never holds the engine's lock, so a receiver that does not answer delays no job. Delivery is at least once;
/// each message carries its idempotency id (<see cref="JobNotification.MessageId"/>).
/// </summary>
/// <example>
/// Without DI:
/// <code>
/// await using var worker = NotificationOutboxWorker.Create(store, [webhooks], new NotificationOutboxOptions { MaxAttempts = 5 });
/// await worker.StartAsync();
/// </code>
/// With DI the worker is registered by <c>AddCompGrid()</c> and runs as a hosted service.
/// </example>
public sealed class NotificationOutboxWorker : IAsyncDisposable
{
    private readonly INotificationOutbox _outbox;
    private readonly IReadOnlyDictionary<string, IJobNotifier> _notifiers;
    private readonly NotificationOutboxOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly object _lifecycle = new();
    private CancellationTokenSource? _stopping;
    private Task? _loop;

    internal NotificationOutboxWorker(INotificationOutbox outbox, IEnumerable<IJobNotifier> notifiers, NotificationOutboxOptions options, ILogger logger, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(outbox);
        ArgumentNullException.ThrowIfNull(notifiers);
        NotificationOutboxOptionsValidator.ThrowIfInvalid(options);
        var byName = new Dictionary<string, IJobNotifier>(StringComparer.Ordinal);
        foreach (var n in notifiers)
        {
            if (!byName.TryAdd(n.Name, n))
                throw new CompGridException($"Two notifiers are named '{n.Name}'; notifier names must be unique (messages are stored under them).") { Operation = "start" };
        }
        _outbox = outbox;
        _notifiers = byName;
        _options = options;
        _logger = logger;
        _time = time;
    }

    /// <summary>Creates a worker without DI. The options are checked by <see cref="NotificationOutboxOptionsValidator"/>.</summary>
    public static NotificationOutboxWorker Create(
        INotificationOutbox outbox,
        IEnumerable<IJobNotifier> notifiers,
        NotificationOutboxOptions options,
        ILoggerFactory? loggerFactory = null,
        TimeProvider? timeProvider = null) =>
        new(outbox, notifiers, options, (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<NotificationOutboxWorker>(), timeProvider ?? TimeProvider.System);

    /// <summary>Raised after each attempt, with its outcome (for metrics and tests; handlers must be quick and must not throw).</summary>
    public event EventHandler<OutboxAttemptEventArgs>? AttemptCompleted;

    /// <summary>Whether the background loop runs.</summary>
    public bool IsRunning { get { lock (_lifecycle) return _loop is not null; } }

    /// <summary>Starts the background loop; calling it again while it runs does nothing.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        lock (_lifecycle)
        {
            if (_loop is not null) return Task.CompletedTask;
            _stopping = new CancellationTokenSource();
            var token = _stopping.Token;
            _loop = Task.Run(() => LoopAsync(token), CancellationToken.None);
        }
        return Task.CompletedTask;
    }

    /// <summary>Stops the loop. Attempts in flight are cancelled; their messages are claimed again after their claim lapses.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        Task? loop;
        CancellationTokenSource? stopping;
        lock (_lifecycle)
        {
            (loop, stopping) = (_loop, _stopping);
            (_loop, _stopping) = (null, null);
        }
        if (loop is null || stopping is null) return;
        await stopping.CancelAsync().ConfigureAwait(false);
        try { await loop.WaitAsync(cancellationToken).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        stopping.Dispose();
    }

    /// <summary>Asks the loop to look for due messages now (the engine calls it after writing to the outbox).</summary>
    public void Wake() => _wake.Writer.TryWrite(true);

    /// <summary>
    /// Claims the messages due now and attempts each once, at most <see cref="NotificationOutboxOptions.MaxConcurrency"/>
    /// at a time. Returns how many were claimed. The background loop calls this; tests and scripts may call it directly.
    /// </summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        // The claim must outlast every attempt of the batch, including those queued behind the concurrency limit.
        int rounds = (_options.BatchSize + _options.MaxConcurrency - 1) / _options.MaxConcurrency;
        var claimUntil = now + (_options.AttemptTimeout * (rounds + 1));
        var claimed = await _outbox.ClaimDueAsync(now, claimUntil, _options.BatchSize, cancellationToken).ConfigureAwait(false);
        if (claimed.Count == 0) return 0;
        await Parallel.ForEachAsync(claimed, new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrency, CancellationToken = cancellationToken },
            (m, ct) => new ValueTask(AttemptAsync(m, ct))).ConfigureAwait(false);
        return claimed.Count;
    }

    /// <summary>The delay before attempt <paramref name="attempt"/> + 1, after <paramref name="attempt"/> failed ones: doubling from <see cref="NotificationOutboxOptions.RetryDelay"/>, capped.</summary>
    internal static TimeSpan Backoff(NotificationOutboxOptions options, int attempt)
    {
        double factor = Math.Pow(2, Math.Min(attempt - 1, 30));
        double ticks = Math.Min(options.RetryDelay.Ticks * factor, options.MaxRetryDelay.Ticks);
        return TimeSpan.FromTicks((long)ticks);
    }

    private async Task LoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            // Drain the wake before the round, never after it: a wake written while the round claims belongs to a
            // message the round may have missed, so it must stay and start the next round at once.
            while (_wake.Reader.TryRead(out _)) { }
            int claimed = 0;
            try { claimed = await RunOnceAsync(ct).ConfigureAwait(false); }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (Exception ex) { Log.OutboxFailed(_logger, _options.PollInterval, ex); }
            if (claimed >= _options.BatchSize) continue; // a full batch: more may be due at once
            using var nap = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var delay = Task.Delay(_options.PollInterval, _time, nap.Token);
            var woken = _wake.Reader.WaitToReadAsync(nap.Token).AsTask();
            try { await Task.WhenAny(delay, woken).ConfigureAwait(false); }
            finally { await nap.CancelAsync().ConfigureAwait(false); }
        }
    }

    private async Task AttemptAsync(OutboxMessage message, CancellationToken ct)
    {
        int attempts = message.Attempts + 1;
        if (!_notifiers.TryGetValue(message.Notifier, out var notifier))
        {
            await FailAsync(message, attempts, $"no notifier named '{message.Notifier}' is registered", permanent: true).ConfigureAwait(false);
            return;
        }
        using var timeout = new CancellationTokenSource(_options.AttemptTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        try
        {
            // WaitAsync: a notifier that ignores its token still loses its slot when the attempt times out.
            await notifier.NotifyAsync(message.Notification with { MessageId = message.Id }, linked.Token).AsTask().WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return; // stopping: the claim lapses and another round retries it
        }
        catch (Exception ex)
        {
            bool timedOut = timeout.IsCancellationRequested;
            string error = timedOut ? $"timed out after {_options.AttemptTimeout}" : ex.Message;
            await FailAsync(message, attempts, error, permanent: !timedOut && ex is CompGridException { IsTransient: false }).ConfigureAwait(false);
            return;
        }
        // The receiver has it: record that even while stopping, or it would be sent again.
        await _outbox.MarkDeliveredAsync(message.Id, _time.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
        Log.Delivered(_logger, message.Id, message.Notifier, attempts);
        AttemptCompleted?.Invoke(this, new OutboxAttemptEventArgs(message, OutboxMessageState.Delivered, attempts, null, null));
    }

    private async Task FailAsync(OutboxMessage message, int attempts, string error, bool permanent)
    {
        DateTimeOffset? retryAt = permanent || attempts >= _options.MaxAttempts ? null : _time.GetUtcNow() + Backoff(_options, attempts);
        await _outbox.MarkFailedAsync(message.Id, error, retryAt, CancellationToken.None).ConfigureAwait(false);
        if (retryAt is { } at) Log.WillRetry(_logger, message.Id, message.Notifier, attempts, at, error);
        else Log.DeadLettered(_logger, message.Id, message.Notifier, attempts, error);
        AttemptCompleted?.Invoke(this, new OutboxAttemptEventArgs(message, retryAt is null ? OutboxMessageState.DeadLettered : OutboxMessageState.Pending, attempts, error, retryAt));
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);
}

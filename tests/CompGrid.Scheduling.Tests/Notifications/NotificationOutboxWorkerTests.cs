using System.Collections.Concurrent;
using CompGrid.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace CompGrid.Scheduling.Tests.Notifications;

/// <summary>A notifier whose behaviour each test scripts.</summary>
internal sealed class ScriptedNotifier(string name) : IJobNotifier
{
    public string Name => name;
    public ConcurrentQueue<JobNotification> Calls { get; } = new();
    public Func<JobNotification, CancellationToken, Task> Behaviour { get; set; } = (_, _) => Task.CompletedTask;
    public ValueTask NotifyAsync(JobNotification notification, CancellationToken cancellationToken = default)
    {
        Calls.Enqueue(notification);
        return new ValueTask(Behaviour(notification, cancellationToken));
    }
}

[Trait("Category", "Scheduling")]
public sealed class NotificationOutboxWorkerTests
{
    private readonly ManualTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly InMemoryJobStore _store = new();
    private readonly NotificationOutboxOptions _options = new() { MaxAttempts = 3, RetryDelay = TimeSpan.FromSeconds(10), AttemptTimeout = TimeSpan.FromSeconds(15) };

    private NotificationOutboxWorker Worker(params IJobNotifier[] notifiers) => NotificationOutboxWorker.Create(_store, notifiers, _options, timeProvider: _time);

    private async Task<OutboxMessage> EnqueueAsync(string notifier, string jobId = "cg-1")
    {
        var writer = new NotificationOutboxWriter(_store, [new ScriptedNotifier(notifier)], _time, NullLogger.Instance);
        var job = new JobRecord { Id = jobId, State = JobState.Completed, Version = 3, Spec = new JobSpec { Name = "t", Owner = "alice", Payload = JobPayload.Command("true") } };
        var messages = writer.MessagesFor(job, JobState.Running);
        await _store.EnqueueAsync(messages);
        return Assert.Single(messages);
    }

    [Fact]
    public async Task RunOnce_DeliversOnceWithTheIdempotencyId()
    {
        var notifier = new ScriptedNotifier("hook");
        await using var worker = Worker(notifier);
        var m = await EnqueueAsync("hook");
        Assert.Equal(1, await worker.RunOnceAsync());
        Assert.Equal(0, await worker.RunOnceAsync());
        var call = Assert.Single(notifier.Calls);
        Assert.Equal("cg-1:v3:hook", call.MessageId);
        var stored = await _store.GetMessageAsync(m.Id);
        Assert.Equal((OutboxMessageState.Delivered, 1, (DateTimeOffset?)_time.GetUtcNow()), (stored!.State, stored.Attempts, stored.DeliveredAt));
    }

    [Fact]
    public async Task RunOnce_FailingNotifier_RetriesWithDoublingBackoffThenDeadLetters()
    {
        var notifier = new ScriptedNotifier("hook") { Behaviour = (_, _) => throw new CompGridException("HTTP 503") { IsTransient = true } };
        await using var worker = Worker(notifier);
        var m = await EnqueueAsync("hook");
        var t0 = _time.GetUtcNow();

        Assert.Equal(1, await worker.RunOnceAsync());
        var after1 = (await _store.GetMessageAsync(m.Id))!;
        Assert.Equal((OutboxMessageState.Pending, 1, "HTTP 503", t0.AddSeconds(10)), (after1.State, after1.Attempts, after1.LastError, after1.NextAttemptAt));

        _time.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(0, await worker.RunOnceAsync()); // not due yet
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await worker.RunOnceAsync());
        var after2 = (await _store.GetMessageAsync(m.Id))!;
        Assert.Equal((2, t0.AddSeconds(10 + 20)), (after2.Attempts, after2.NextAttemptAt));

        _time.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(1, await worker.RunOnceAsync());
        var dead = (await _store.GetMessageAsync(m.Id))!;
        Assert.Equal((OutboxMessageState.DeadLettered, 3), (dead.State, dead.Attempts));
        _time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(0, await worker.RunOnceAsync());
        Assert.Equal(3, notifier.Calls.Count);
        Assert.All(notifier.Calls, c => Assert.Equal(m.Id, c.MessageId)); // the same idempotency id on every retry
    }

    [Fact]
    public async Task RunOnce_PermanentFailure_DeadLettersAtOnce()
    {
        var notifier = new ScriptedNotifier("hook") { Behaviour = (_, _) => throw new CompGridException("refused: loopback") { IsTransient = false } };
        await using var worker = Worker(notifier);
        var m = await EnqueueAsync("hook");
        await worker.RunOnceAsync();
        var dead = (await _store.GetMessageAsync(m.Id))!;
        Assert.Equal((OutboxMessageState.DeadLettered, 1, "refused: loopback"), (dead.State, dead.Attempts, dead.LastError));
    }

    [Fact]
    public async Task RunOnce_NotifierThatNeverReturns_TimesOutOnTheInjectedClockAndIsRetried()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var never = new TaskCompletionSource();
        // Ignores its token on purpose: the worker must still give up after AttemptTimeout.
        var notifier = new ScriptedNotifier("hook") { Behaviour = (_, _) => { entered.TrySetResult(); return never.Task; } };
        await using var worker = Worker(notifier);
        var m = await EnqueueAsync("hook");
        var round = worker.RunOnceAsync();
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(round.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(15));
        Assert.Equal(1, await round.WaitAsync(TimeSpan.FromSeconds(30)));
        var after = (await _store.GetMessageAsync(m.Id))!;
        Assert.Equal(OutboxMessageState.Pending, after.State);
        Assert.Equal(1, after.Attempts);
        Assert.Contains("timed out", after.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunOnce_UnknownNotifierName_DeadLetters()
    {
        await using var worker = Worker(new ScriptedNotifier("other"));
        var m = await EnqueueAsync("gone");
        await worker.RunOnceAsync();
        var dead = (await _store.GetMessageAsync(m.Id))!;
        Assert.Equal(OutboxMessageState.DeadLettered, dead.State);
        Assert.Contains("no notifier named 'gone'", dead.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_ThenWake_DeliversInTheBackgroundAndStopEndsTheLoop()
    {
        var notifier = new ScriptedNotifier("hook");
        await using var worker = Worker(notifier);
        var delivered = new TaskCompletionSource<OutboxAttemptEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        worker.AttemptCompleted += (_, e) => delivered.TrySetResult(e);
        await worker.StartAsync();
        Assert.True(worker.IsRunning);
        var m = await EnqueueAsync("hook");
        worker.Wake();
        var e = await delivered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal((m.Id, OutboxMessageState.Delivered), (e.Message.Id, e.State));
        await worker.StopAsync();
        Assert.False(worker.IsRunning);
    }

    [Fact]
    public async Task Wake_WhileARoundIsClaiming_StartsAnotherRoundWithoutWaitingForThePoll()
    {
        // The message arrives, and its wake with it, after the round's claim looked and found nothing. The clock never
        // moves, so only that wake can deliver it: a loop that drained wakes after the round lost it (a CI failure).
        var notifier = new ScriptedNotifier("hook");
        var outbox = new OutboxThatEnqueuesDuringFirstClaim(_store, () => EnqueueAsync("hook"));
        await using var worker = NotificationOutboxWorker.Create(outbox, [notifier], _options, timeProvider: _time);
        outbox.Worker = worker;
        var delivered = new TaskCompletionSource<OutboxAttemptEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        worker.AttemptCompleted += (_, e) => delivered.TrySetResult(e);
        await worker.StartAsync();
        var e = await delivered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(OutboxMessageState.Delivered, e.State);
    }

    /// <summary>Delegates to a store; on the first claim it returns nothing, then writes a message and wakes the worker.</summary>
    private sealed class OutboxThatEnqueuesDuringFirstClaim(InMemoryJobStore store, Func<Task> enqueue) : INotificationOutbox
    {
        private int _claims;
        public NotificationOutboxWorker? Worker { get; set; }
        public Task EnqueueAsync(IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken = default) => store.EnqueueAsync(messages, cancellationToken);
        public Task<bool> TryUpdateWithMessagesAsync(JobRecord job, long expectedVersion, JobTransition? transition, IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken = default) =>
            store.TryUpdateWithMessagesAsync(job, expectedVersion, transition, messages, cancellationToken);
        public async Task<IReadOnlyList<OutboxMessage>> ClaimDueAsync(DateTimeOffset now, DateTimeOffset claimUntil, int limit, CancellationToken cancellationToken = default)
        {
            var claimed = await store.ClaimDueAsync(now, claimUntil, limit, cancellationToken);
            if (Interlocked.Increment(ref _claims) == 1)
            {
                await enqueue();
                Worker!.Wake();
            }
            return claimed;
        }
        public Task MarkDeliveredAsync(string messageId, DateTimeOffset at, CancellationToken cancellationToken = default) => store.MarkDeliveredAsync(messageId, at, cancellationToken);
        public Task MarkFailedAsync(string messageId, string error, DateTimeOffset? retryAt, CancellationToken cancellationToken = default) => store.MarkFailedAsync(messageId, error, retryAt, cancellationToken);
        public Task<OutboxMessage?> GetMessageAsync(string messageId, CancellationToken cancellationToken = default) => store.GetMessageAsync(messageId, cancellationToken);
        public IAsyncEnumerable<OutboxMessage> QueryMessagesAsync(OutboxMessageState? state = null, int limit = 1000, CancellationToken cancellationToken = default) => store.QueryMessagesAsync(state, limit, cancellationToken);
    }

    [Fact]
    public void Create_InvalidOptionsOrDuplicateNames_FailNamingTheProblem()
    {
        var e1 = Assert.ThrowsAny<Exception>(() => NotificationOutboxWorker.Create(_store, [], new NotificationOutboxOptions { MaxAttempts = 0 }));
        Assert.Contains("MaxAttempts", e1.Message, StringComparison.Ordinal);
        var e2 = Assert.Throws<CompGridException>(() => NotificationOutboxWorker.Create(_store, [new ScriptedNotifier("x"), new ScriptedNotifier("x")], new NotificationOutboxOptions()));
        Assert.Contains("'x'", e2.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Backoff_DoublesAndIsCapped()
    {
        var o = new NotificationOutboxOptions { RetryDelay = TimeSpan.FromSeconds(10), MaxRetryDelay = TimeSpan.FromMinutes(1) };
        Assert.Equal([10, 20, 40, 60, 60], Enumerable.Range(1, 5).Select(a => NotificationOutboxWorker.Backoff(o, a).TotalSeconds));
        Assert.Equal(TimeSpan.FromMinutes(1), NotificationOutboxWorker.Backoff(o, 1000));
    }
}

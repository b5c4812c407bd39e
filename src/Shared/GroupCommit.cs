using System.Collections.Concurrent;

namespace CompGrid.Storage;

/// <summary>
/// One write waiting for its group commit. The caller builds it (serialising outside the writer), the writer runs it
/// inside a shared transaction and records the outcome with <see cref="SetOutcome"/> or <see cref="SetRejected"/>;
/// the outcome is published to the caller only after the transaction committed.
/// </summary>
internal abstract class PendingWrite
{
    private const int Queued = 0, Taken = 1, Cancelled = 2;
    private readonly TaskCompletionSource<bool> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _state;
    private bool _outcome;
    private Exception? _rejection;
    private CancellationTokenRegistration _cancellation;

    /// <summary>Completes with the write's own result (true/false), or faults with its rejection or the batch's error.</summary>
    public Task<bool> Completion => _done.Task;

    /// <summary>The write's result, kept until the commit.</summary>
    public void SetOutcome(bool outcome) => _outcome = outcome;

    /// <summary>This write alone is refused (a duplicate id, a missing job): it wrote nothing, the rest of the batch commits.</summary>
    public void SetRejected(Exception rejection) => _rejection = rejection;

    internal bool TryTake() => Interlocked.CompareExchange(ref _state, Taken, Queued) == Queued;

    internal bool TryCancel() => Interlocked.CompareExchange(ref _state, Cancelled, Queued) == Queued;

    /// <summary>Until a writer takes this write, cancelling <paramref name="token"/> withdraws it and cancels its caller.</summary>
    internal void CancelWhileQueued(CancellationToken token) =>
        _cancellation = token.UnsafeRegister(static (s, t) =>
        {
            var w = (PendingWrite)s!;
            if (w.TryCancel()) w._done.TrySetCanceled(t);
        }, this);

    internal void Reset() { _outcome = false; _rejection = null; }

    internal void Publish()
    {
        _cancellation.Dispose();
        if (_rejection is not null) _done.TrySetException(_rejection);
        else _done.TrySetResult(_outcome);
    }

    internal void Fail(Exception error)
    {
        _cancellation.Dispose();
        _done.TrySetException(error);
    }
}

/// <summary>
/// Group commit: concurrent writers enqueue their writes; one writer at a time drains the queue and commits everything
/// waiting in one transaction (<c>flush</c>), so N concurrent callers pay for one commit instead of N. Each caller
/// returns only after the transaction holding its write committed. When the flush throws, the transaction is rolled
/// back by the flush and every write of the batch fails with that error; nothing of the batch is stored.
/// A caller cancelled before a writer took its write gets <see cref="OperationCanceledException"/> and its write is
/// never stored; once taken, the write completes regardless of the token (it may already be durable).
/// </summary>
/// <remarks>
/// Callers wait on their own write, never on the writer gate: the first caller to find no writer active drains inline
/// until its own write committed (no thread hop when idle), then hands whatever queued meanwhile to a background
/// drain that runs while writes keep arriving. Waiting callers therefore cost one continuation each per batch, and
/// the gate passes through no waiter that has nothing left to do.
/// </remarks>
internal sealed class GroupCommit<TWrite>(Func<IReadOnlyList<TWrite>, Task> flush, int maxBatch) : IDisposable
    where TWrite : PendingWrite
{
    private readonly ConcurrentQueue<TWrite> _queue = new();
    // Held by the active drain, or by a test's pause; never awaited by a caller.
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly List<TWrite> _batch = new(maxBatch);
    // 1 while a drain is active or scheduled: at most one drain at a time.
    private int _active;
    private long _batches;

    /// <summary>The number of transactions committed or attempted (for tests and benchmarks).</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Queues <paramref name="write"/> and returns its outcome once it is durable.</summary>
    public async Task<bool> WriteAsync(TWrite write, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (cancellationToken.CanBeCanceled) write.CancelWhileQueued(cancellationToken);
        _queue.Enqueue(write);
        if (Interlocked.CompareExchange(ref _active, 1, 0) == 0)
        {
            // Idle writer: drain inline when the gate is free (not paused), else let a background drain wait for it.
            if (_gate.Wait(0)) await DrainAsync(write).ConfigureAwait(false);
            else _ = Task.Run(() => WaitAndDrainAsync());
        }
        return await write.Completion.ConfigureAwait(false);
    }

    /// <summary>Holds the writer gate: writes queue up and commit as one batch when the result is disposed (tests).</summary>
    internal async Task<IDisposable> PauseAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        return new Resume(this);
    }

    private async Task WaitAndDrainAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        await DrainAsync(own: null).ConfigureAwait(false);
    }

    /// <summary>Holding the gate and the active flag: flushes until the queue is empty or, inline, until <paramref name="own"/> committed.</summary>
    private async Task DrainAsync(TWrite? own)
    {
        try
        {
            while (await FlushOnceAsync().ConfigureAwait(false) && own is not { Completion.IsCompleted: true })
            {
                // Behind the continuations of the callers just published: they queue their next writes first, so
                // the next batch holds them all instead of whichever one came back first (no timer, no spin).
                if (own is null) await Task.Yield();
            }
        }
        finally
        {
            _gate.Release();
            Interlocked.Exchange(ref _active, 0); // a full fence: the emptiness check below cannot move above it
        }
        // Writes queued after the last flush (or left by an inline drain that finished its own) need a drain: their
        // callers only started one when none was active.
        if (!_queue.IsEmpty && Interlocked.CompareExchange(ref _active, 1, 0) == 0) _ = Task.Run(() => WaitAndDrainAsync());
    }

    private async Task<bool> FlushOnceAsync()
    {
        _batch.Clear();
        while (_batch.Count < maxBatch && _queue.TryDequeue(out var next))
            if (next.TryTake()) _batch.Add(next);
        if (_batch.Count == 0) return false;
        Interlocked.Increment(ref _batches);
        try
        {
            foreach (var w in _batch) w.Reset();
            await flush(_batch).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            foreach (var w in _batch) w.Fail(ex);
            return true;
        }
        foreach (var w in _batch) w.Publish();
        return true;
    }

    /// <inheritdoc/>
    public void Dispose() => _gate.Dispose();

    private sealed class Resume(GroupCommit<TWrite> owner) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0) owner._gate.Release();
        }
    }
}

using System.Runtime.CompilerServices;

namespace CompGrid.Testing;

/// <summary>An <see cref="IJobStore"/> and <see cref="INotificationOutbox"/> in memory, for tests only (nothing survives the process).</summary>
public sealed class InMemoryJobStore : IJobStore, INotificationOutbox
{
    private readonly object _gate = new();
    private readonly Dictionary<string, JobRecord> _jobs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<JobTransition>> _history = new(StringComparer.Ordinal);
    private readonly Dictionary<string, UsageRecord> _usage = new(StringComparer.Ordinal);
    private readonly Dictionary<string, OutboxMessage> _outbox = new(StringComparer.Ordinal);
    private long _outboxSeq;
    private readonly Dictionary<string, long> _outboxOrder = new(StringComparer.Ordinal);

    /// <inheritdoc/>
    public Task InitializeAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <inheritdoc/>
    public Task CreateAsync(JobRecord job, JobTransition transition, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (!_jobs.TryAdd(job.Id, job)) throw new CompGridException($"Job '{job.Id}' already exists.") { JobId = job.Id, Operation = "create" };
            _history[job.Id] = [transition];
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task<bool> TryUpdateAsync(JobRecord job, long expectedVersion, JobTransition? transition, CancellationToken cancellationToken = default) =>
        TryUpdateWithMessagesAsync(job, expectedVersion, transition, [], cancellationToken);

    /// <inheritdoc/>
    public Task<bool> TryUpdateWithMessagesAsync(JobRecord job, long expectedVersion, JobTransition? transition, IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(messages);
        lock (_gate)
        {
            if (!_jobs.TryGetValue(job.Id, out var current)) throw new JobNotFoundException(job.Id);
            if (current.Version != expectedVersion) return Task.FromResult(false);
            _jobs[job.Id] = job;
            if (transition is not null) _history[job.Id].Add(transition);
            AddMessages(messages);
            return Task.FromResult(true);
        }
    }

    /// <inheritdoc/>
    public Task EnqueueAsync(IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        lock (_gate) AddMessages(messages);
        return Task.CompletedTask;
    }

    private void AddMessages(IReadOnlyList<OutboxMessage> messages)
    {
        foreach (var m in messages)
            if (_outbox.TryAdd(m.Id, m)) _outboxOrder[m.Id] = ++_outboxSeq;
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<OutboxMessage>> ClaimDueAsync(DateTimeOffset now, DateTimeOffset claimUntil, int limit, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var due = _outbox.Values.Where(m => m.State == OutboxMessageState.Pending && m.NextAttemptAt <= now)
                .OrderBy(m => m.NextAttemptAt).ThenBy(m => _outboxOrder[m.Id]).Take(limit).ToList();
            var claimed = due.Select(m => m with { NextAttemptAt = claimUntil }).ToList();
            foreach (var m in claimed) _outbox[m.Id] = m;
            return Task.FromResult<IReadOnlyList<OutboxMessage>>(claimed);
        }
    }

    /// <inheritdoc/>
    public Task MarkDeliveredAsync(string messageId, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_outbox.TryGetValue(messageId, out var m) && m.State == OutboxMessageState.Pending)
                _outbox[messageId] = m with { State = OutboxMessageState.Delivered, Attempts = m.Attempts + 1, DeliveredAt = at };
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task MarkFailedAsync(string messageId, string error, DateTimeOffset? retryAt, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_outbox.TryGetValue(messageId, out var m) && m.State == OutboxMessageState.Pending)
            {
                _outbox[messageId] = m with
                {
                    Attempts = m.Attempts + 1, LastError = error,
                    State = retryAt is null ? OutboxMessageState.DeadLettered : OutboxMessageState.Pending,
                    NextAttemptAt = retryAt ?? m.NextAttemptAt,
                };
            }
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task<OutboxMessage?> GetMessageAsync(string messageId, CancellationToken cancellationToken = default)
    {
        lock (_gate) return Task.FromResult(_outbox.GetValueOrDefault(messageId));
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<OutboxMessage> QueryMessagesAsync(OutboxMessageState? state = null, int limit = 1000, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        List<OutboxMessage> result;
        lock (_gate)
            result = _outbox.Values.Where(m => state is null || m.State == state).OrderBy(m => _outboxOrder[m.Id]).Take(limit).ToList();
        foreach (var m in result)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return m;
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public Task<JobRecord?> GetAsync(string jobId, CancellationToken cancellationToken = default)
    {
        lock (_gate) return Task.FromResult(_jobs.GetValueOrDefault(jobId));
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<JobRecord> QueryAsync(JobQuery query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        List<JobRecord> result;
        lock (_gate)
        {
            result = _jobs.Values.Where(j =>
                    (query.Owner is null || j.Spec.Owner == query.Owner)
                    && (query.Account is null || j.Spec.Account == query.Account)
                    && (query.Backend is null || j.Backend == query.Backend)
                    && (query.States.Count == 0 || query.States.Contains(j.State))
                    && (query.SubmittedAfter is null || j.SubmittedAt >= query.SubmittedAfter)
                    && (query.SubmittedBefore is null || j.SubmittedAt < query.SubmittedBefore))
                .OrderByDescending(j => j.SubmittedAt).ThenByDescending(j => j.Id, StringComparer.Ordinal)
                .Take(query.Limit).ToList();
        }
        foreach (var j in result)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return j;
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<JobTransition>> GetHistoryAsync(string jobId, CancellationToken cancellationToken = default)
    {
        lock (_gate) return Task.FromResult<IReadOnlyList<JobTransition>>(_history.TryGetValue(jobId, out var h) ? h.ToList() : []);
    }

    /// <inheritdoc/>
    public Task<bool> TryAddUsageAsync(UsageRecord usage, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(usage);
        lock (_gate) return Task.FromResult(_usage.TryAdd(usage.JobId, usage));
    }

    /// <inheritdoc/>
    public Task<UsageRecord?> GetUsageAsync(string jobId, CancellationToken cancellationToken = default)
    {
        lock (_gate) return Task.FromResult(_usage.GetValueOrDefault(jobId));
    }
}

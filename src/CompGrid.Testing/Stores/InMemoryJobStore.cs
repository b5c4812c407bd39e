using System.Runtime.CompilerServices;

namespace CompGrid.Testing;

/// <summary>An <see cref="IJobStore"/> in memory, for tests only (nothing survives the process).</summary>
public sealed class InMemoryJobStore : IJobStore
{
    private readonly object _gate = new();
    private readonly Dictionary<string, JobRecord> _jobs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<JobTransition>> _history = new(StringComparer.Ordinal);
    private readonly Dictionary<string, UsageRecord> _usage = new(StringComparer.Ordinal);

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
    public Task<bool> TryUpdateAsync(JobRecord job, long expectedVersion, JobTransition? transition, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (!_jobs.TryGetValue(job.Id, out var current)) throw new JobNotFoundException(job.Id);
            if (current.Version != expectedVersion) return Task.FromResult(false);
            _jobs[job.Id] = job;
            if (transition is not null) _history[job.Id].Add(transition);
            return Task.FromResult(true);
        }
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

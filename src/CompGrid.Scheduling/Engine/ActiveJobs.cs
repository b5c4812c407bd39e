namespace CompGrid;

/// <summary>
/// The engine's cache of the jobs it still works on (not terminal, or terminal with usage still owed) and the only
/// place that writes job records: every change is persisted with an optimistic version check before the cache shows
/// it. Also the engine's one lock (<see cref="LockAsync"/>): the loop, reconciliation and the client commands hold it
/// while they read or change jobs. With several engine instances on one store the store is the truth, and the cache is
/// refreshed from it each cycle. New jobs are stored without the lock (the store group-commits concurrent
/// submissions) and reach the cache through a lock-free arrivals queue that the lock holder drains first.
/// </summary>
internal sealed class ActiveJobs(IJobStore store, TimeProvider time, bool shared) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, JobRecord> _active = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentQueue<JobRecord> _arrivals = new();
    private IActiveJobsObserver? _observer;

    /// <summary>
    /// Reports every later change of the cache to <paramref name="observer"/> (under the lock), after telling it the
    /// jobs cached now: the scheduler keeps its queues from these events instead of scanning the cache each cycle.
    /// </summary>
    public void Observe(IActiveJobsObserver observer)
    {
        DrainArrivals();
        _observer = observer;
        foreach (var job in _active.Values) observer.OnChanged(null, job);
    }

    // Every write to the cache goes through these two, so the observer sees each change once.
    private void Put(JobRecord job)
    {
        _active.TryGetValue(job.Id, out var before);
        _active[job.Id] = job;
        _observer?.OnChanged(before, job);
    }

    private void Drop(string jobId)
    {
        if (_active.Remove(jobId, out var before)) _observer?.OnChanged(before, null);
    }

    /// <summary>Takes the engine lock; dispose the result to release it.</summary>
    public async Task<Releaser> LockAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        return new Releaser(_gate);
    }

    /// <summary>The cached jobs matching <paramref name="predicate"/>, copied (safe to change the cache while iterating).</summary>
    public List<JobRecord> Where(Func<JobRecord, bool> predicate)
    {
        DrainArrivals();
        return _active.Values.Where(predicate).ToList();
    }

    /// <summary>The cached job, when the engine still works on it.</summary>
    public bool TryGet(string jobId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out JobRecord? job)
    {
        DrainArrivals();
        return _active.TryGetValue(jobId, out job);
    }

    /// <summary>The job from the cache (one instance) or from the store (several instances: the store is the truth).</summary>
    public async Task<JobRecord> LoadAsync(string jobId, CancellationToken ct)
    {
        DrainArrivals();
        if (!shared && _active.TryGetValue(jobId, out var job)) return job;
        return await store.GetAsync(jobId, ct).ConfigureAwait(false) ?? throw new JobNotFoundException(jobId);
    }

    /// <summary>
    /// Stores a new job with its first transition, then queues it for the cache. Needs no lock: concurrent submissions
    /// reach the store together and share its commits.
    /// </summary>
    public async Task CreateAsync(JobRecord job, JobTransition transition, CancellationToken ct)
    {
        await store.CreateAsync(job, transition, ct).ConfigureAwait(false);
        _arrivals.Enqueue(job);
    }

    // Under the lock: a stored job joins the cache unless a newer version of it is there already (a refresh from the
    // store, with several instances, may have brought it first).
    private void DrainArrivals()
    {
        while (_arrivals.TryDequeue(out var job))
            if (!_active.TryGetValue(job.Id, out var cached) || cached.Version < job.Version) Put(job);
    }

    /// <summary>Replaces the cache with the store's active jobs (after a start or a change of leader).</summary>
    public async Task ReloadAsync(CancellationToken ct)
    {
        foreach (var id in _active.Keys.ToList()) Drop(id);
        DrainArrivals();
        await foreach (var job in store.QueryAsync(JobQuery.Active, ct).ConfigureAwait(false)) Put(job);
    }

    /// <summary>
    /// Merges the store's active jobs into the cache (other instances submit, cancel and approve through the store):
    /// newer versions win; jobs no longer active are forgotten, unless their usage is still owed here.
    /// </summary>
    public async Task RefreshAsync(CancellationToken ct)
    {
        DrainArrivals();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var job in store.QueryAsync(JobQuery.Active, ct).ConfigureAwait(false))
        {
            seen.Add(job.Id);
            if (!_active.TryGetValue(job.Id, out var cached) || cached.Version < job.Version) Put(job);
        }
        foreach (var id in _active.Keys.Where(id => !seen.Contains(id)).ToList())
            if (!(_active[id].IsTerminal && !_active[id].UsageDelivered)) Drop(id);
    }

    /// <summary>Stops working on a job (its usage is being delivered).</summary>
    public void Forget(string jobId)
    {
        DrainArrivals();
        Drop(jobId);
    }

    /// <summary>Keeps a job whose usage could not be delivered, so the next cycle tries again.</summary>
    public void Retain(JobRecord job)
    {
        DrainArrivals();
        Put(job);
    }

    /// <summary>Persists a change that is not a state transition.</summary>
    public Task<JobRecord> UpdateAsync(JobRecord job, Func<JobRecord, JobRecord> change, CancellationToken ct) => SaveAsync(job, change, null, ct);

    /// <summary>Persists a change with the state transition it makes (from, to, reason, actor) in the job's history.</summary>
    public async Task<JobRecord> TransitionAsync(JobRecord job, Func<JobRecord, JobRecord> change, string? actor, CancellationToken ct)
    {
        var next = change(job);
        var transition = new JobTransition { JobId = job.Id, From = job.State, To = next.State, At = time.GetUtcNow(), Reason = next.Reason, Actor = actor };
        return await SaveAsync(job, _ => next, transition, ct).ConfigureAwait(false);
    }

    /// <summary>Persists a new pending reason, when it changed.</summary>
    public async Task SetReasonAsync(JobRecord job, string reason, CancellationToken ct)
    {
        if (job.Reason == reason) return;
        await UpdateAsync(job, j => j with { Reason = reason }, ct).ConfigureAwait(false);
    }

    private async Task<JobRecord> SaveAsync(JobRecord job, Func<JobRecord, JobRecord> change, JobTransition? transition, CancellationToken ct)
    {
        DrainArrivals();
        var next = change(job) with { Version = job.Version + 1 };
        if (!await store.TryUpdateAsync(next, job.Version, transition, ct).ConfigureAwait(false))
        {
            // Another writer (a second engine instance or an operator) changed the job: take the stored record.
            var current = await store.GetAsync(job.Id, ct).ConfigureAwait(false) ?? throw new JobNotFoundException(job.Id);
            if (current.IsTerminal) Drop(job.Id); else Put(current);
            throw new CompGridException($"Job '{job.Id}' was changed concurrently (version {job.Version} is stale).") { JobId = job.Id, Operation = "update", IsTransient = true };
        }
        if (!next.IsTerminal || !next.UsageDelivered) Put(next);
        else Drop(next.Id);
        return next;
    }

    /// <inheritdoc/>
    public void Dispose() => _gate.Dispose();

    /// <summary>Releases the engine lock.</summary>
    internal readonly struct Releaser(SemaphoreSlim gate) : IDisposable
    {
        public void Dispose() => gate.Release();
    }
}

/// <summary>Learns about every change of the engine's active-job cache (under the engine lock).</summary>
internal interface IActiveJobsObserver
{
    /// <summary>A job was added (<paramref name="before"/> null), changed, or removed (<paramref name="after"/> null).</summary>
    void OnChanged(JobRecord? before, JobRecord? after);
}

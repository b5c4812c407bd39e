using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using CompGrid.Backfill;
using CompGrid.Placement;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CompGrid;

/// <summary>
/// The CompGrid engine: validates and admits jobs, keeps the durable queue, places and dispatches jobs on backends,
/// tracks them to a terminal state, delivers usage records exactly once, sends notifications and reconciles with the
/// backends after a restart. Every transition is persisted before its side effect is acknowledged.
/// Create it with <c>services.AddCompGrid()</c> or, without DI, with <see cref="Create"/>.
/// </summary>
public sealed partial class CompGridEngine : ICompGridClient, IAsyncDisposable
{
    private static readonly System.Diagnostics.ActivitySource s_activity = new(CompGridDiagnostics.SourceName);
    private static readonly Meter s_meter = new(CompGridDiagnostics.SourceName);
    private static readonly Counter<long> s_submitted = s_meter.CreateCounter<long>("compgrid.jobs.submitted", description: "Jobs admitted");
    private static readonly Counter<long> s_finished = s_meter.CreateCounter<long>("compgrid.jobs.finished", description: "Jobs that reached a terminal state");

    private readonly IJobStore _store;
    private readonly IReadOnlyList<IComputeBackend> _backends;
    private readonly IReadOnlyList<IAdmissionCheck> _checks;
    private readonly IReadOnlyList<IUsageSink> _sinks;
    private readonly IReadOnlyList<IJobNotifier> _notifiers;
    private readonly SchedulingPolicyRegistry _policies;
    private readonly CompGridOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private readonly ConcurrentDictionary<string, TaskCompletionSource<JobRecord>> _waiters = new(StringComparer.Ordinal);
    private readonly Dictionary<string, JobRecord> _active = new(StringComparer.Ordinal);
    private IPlacementPolicy _placement = null!;
    private IQueueOrderingPolicy _ordering = null!;
    private readonly SchedulingPolicyOptions _scheduling;
    private SchedulingCycle _cycle = null!;
    private CancellationTokenSource? _stopping;
    private Task? _loop;
    private readonly List<Task> _watchers = [];
    private IDisposable? _ownedServices;
    private int _started;
    private readonly ISchedulerLease? _lease;
    private bool _leading;

    /// <summary>Creates the engine from its parts (DI calls this; scripts use <see cref="Create"/>).</summary>
    public CompGridEngine(
        IJobStore store,
        IEnumerable<IComputeBackend> backends,
        IEnumerable<IAdmissionCheck> admissionChecks,
        IEnumerable<IUsageSink> usageSinks,
        IEnumerable<IJobNotifier> notifiers,
        IEnumerable<IPlacementPolicy> placementPolicies,
        IEnumerable<IQueueOrderingPolicy> orderingPolicies,
        IOptions<CompGridOptions> options,
        TimeProvider timeProvider,
        ILogger<CompGridEngine> logger,
        IOptions<SchedulingPolicyOptions>? scheduling = null,
        ISchedulerLease? lease = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _store = store;
        _backends = backends.ToList();
        _checks = admissionChecks.ToList();
        _sinks = usageSinks.ToList();
        _notifiers = notifiers.ToList();
        _policies = new SchedulingPolicyRegistry(placementPolicies, orderingPolicies);
        _options = options.Value;
        _time = timeProvider;
        _logger = logger;
        _scheduling = scheduling?.Value ?? new SchedulingPolicyOptions();
        _lease = lease;
    }

    /// <summary>
    /// Whether this instance schedules: always without an <see cref="ISchedulerLease"/>; with one, while it holds the
    /// lease (the other instances stand by).
    /// </summary>
    public bool IsActiveScheduler => _lease is null || Volatile.Read(ref _leading);

    /// <summary>
    /// Builds an engine without DI, from the same registrations DI uses:
    /// <c>await using var grid = CompGridEngine.Create(b =&gt; b.AddLocalBackend().UseSqliteStore("grid.db"));</c>
    /// The engine owns the services it creates and disposes them. Call <see cref="StartAsync"/> before use.
    /// </summary>
    public static CompGridEngine Create(Action<ICompGridBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
        var builder = Microsoft.Extensions.DependencyInjection.CompGridServiceCollectionExtensions.AddCompGrid(services);
        configure(builder);
        var provider = Microsoft.Extensions.DependencyInjection.ServiceCollectionContainerBuilderExtensions.BuildServiceProvider(services, validateScopes: true);
        var engine = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<CompGridEngine>(provider);
        engine._ownedServices = provider;
        return engine;
    }

    /// <summary>The registered backends.</summary>
    public IReadOnlyList<IComputeBackend> Backends => _backends;

    /// <summary>
    /// Validates the configuration (policy names, backends), initialises the store, reconciles with the backends and
    /// starts the scheduling loop. An unknown policy name fails here, never later.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _started, 1) == 1) return;
        _placement = _policies.TryGetPlacement(_options.PlacementPolicy, out var placement) ? placement
            : throw new CompGridException($"Unknown placement policy '{_options.PlacementPolicy}' (CompGrid:PlacementPolicy). Registered: {string.Join(", ", _policies.PlacementNames)}.") { Operation = "start" };
        _ordering = _policies.TryGetOrdering(_options.QueueOrdering, out var ordering) ? ordering
            : throw new CompGridException($"Unknown queue ordering policy '{_options.QueueOrdering}' (CompGrid:QueueOrdering). Registered: {string.Join(", ", _policies.OrderingNames)}.") { Operation = "start" };
        if (_scheduling.Validate() is { Count: > 0 } schedulingErrors)
            throw new CompGridException("CompGrid:Scheduling is invalid: " + string.Join(" ", schedulingErrors)) { Operation = "start" };
        _cycle = new SchedulingCycle(_ordering, _placement, WalltimeOf, MemoryPerNode, _scheduling.Backfill, _scheduling.Limits);
        if (_backends.Count == 0)
            throw new CompGridException("No backend is registered: add one, for example builder.AddLocalBackend().") { Operation = "start" };
        var dup = _backends.GroupBy(b => b.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new CompGridException($"Two backends are named '{dup.Key}'; backend names must be unique.") { Operation = "start" };
        if (_options.DefaultBackend is { } def && _backends.All(b => b.Name != def))
            throw new CompGridException($"CompGrid:DefaultBackend names '{def}', which is not registered. Registered: {string.Join(", ", _backends.Select(b => b.Name))}.") { Operation = "start" };
        if (_options.PollInterval <= TimeSpan.Zero) throw new CompGridException("CompGrid:PollInterval must be positive.") { Operation = "start" };

        await _store.InitializeAsync(cancellationToken).ConfigureAwait(false);
        if (_lease is null || await TryLeadAsync(cancellationToken).ConfigureAwait(false))
            await ReconcileAsync(cancellationToken).ConfigureAwait(false);

        _stopping = new CancellationTokenSource();
        foreach (var source in _backends.OfType<IBackendEventSource>())
            _watchers.Add(Task.Run(() => WatchAsync(source, _stopping.Token), CancellationToken.None));
        _loop = Task.Run(() => LoopAsync(_stopping.Token), CancellationToken.None);
        LogStarted(_logger, _backends.Count, _placement.Name, _ordering.Name);
    }

    /// <summary>Stops the scheduling loop. Running jobs keep running on their backends and are adopted at the next start.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (_stopping is null) return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            if (_loop is not null) await _loop.WaitAsync(cancellationToken).ConfigureAwait(false);
            await Task.WhenAll(_watchers).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) { }
        if (_lease is not null && Volatile.Read(ref _leading))
        {
            Volatile.Write(ref _leading, false);
            await _lease.ReleaseAsync(cancellationToken).ConfigureAwait(false); // a standby takes over at once
        }
        _stopping.Dispose();
        _stopping = null;
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        if (_ownedServices is IAsyncDisposable ad) await ad.DisposeAsync().ConfigureAwait(false);
        else _ownedServices?.Dispose();
        _gate.Dispose();
        _wake.Dispose();
    }

    /// <summary>
    /// Runs one scheduling cycle now (track, then place and dispatch); with an <see cref="ISchedulerLease"/>, only if this
    /// instance holds the lease. Useful with a manual clock in tests.
    /// </summary>
    public Task RunCycleAsync(CancellationToken cancellationToken = default) =>
        _lease is null ? RunCycleCoreAsync(cancellationToken) : RunLeasedCycleAsync(cancellationToken);

    private async Task RunCycleCoreAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await TrackAsync(cancellationToken).ConfigureAwait(false);
            await ScheduleAsync(cancellationToken).ConfigureAwait(false);
        }
        finally { _gate.Release(); }
    }

    // ---------------------------------------------------------------- client API

    /// <inheritdoc/>
    public async Task<JobHandle> SubmitAsync(JobSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        EnsureStarted();
        using var activity = s_activity.StartActivity("compgrid.submit");
        activity?.SetTag("compgrid.owner", spec.Owner);
        var errors = JobSpecValidator.Validate(spec, _options.MaxWalltime).ToList();
        IComputeBackend? backend = null;
        if (errors.Count == 0)
        {
            backend = Route(spec, out string? routeError, out string routeField);
            if (backend is null) errors.Add(new ValidationError(routeField, routeError!));
        }
        if (errors.Count > 0) throw new JobValidationException(errors);

        string id = NewJobId();
        var now = _time.GetUtcNow();
        var context = new AdmissionContext
        {
            JobId = id, Spec = spec, Walltime = WalltimeOf(spec), MemoryMiBPerNode = MemoryPerNode(spec), Backend = backend!.Name, Now = now,
        };
        string? waitReason = null;
        var admittedBy = new List<IAdmissionCheck>();
        foreach (var check in _checks)
        {
            AdmissionResult result;
            try { result = await check.CheckAsync(context, cancellationToken).ConfigureAwait(false); }
            catch
            {
                await ReleaseAsync(admittedBy, context).ConfigureAwait(false);
                throw;
            }
            if (result.Decision == AdmissionDecision.Reject)
            {
                await ReleaseAsync(admittedBy, context).ConfigureAwait(false);
                LogRejected(_logger, id, spec.Owner, result.Reason ?? "");
                throw new JobRejectedException(result.Reason ?? "The job was rejected at admission.", result.Code) { JobId = id, Operation = "submit" };
            }
            admittedBy.Add(check);
            if (result.Decision == AdmissionDecision.WaitForApproval) waitReason ??= result.Reason ?? "needs approval";
        }

        var state = waitReason is null ? JobState.Queued : JobState.AwaitingApproval;
        var job = new JobRecord
        {
            Id = id, Spec = spec, State = state, Reason = waitReason, SubmittedAt = now, Backend = backend.Name, Version = 1,
        };
        try
        {
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await _store.CreateAsync(job, new JobTransition { JobId = id, To = state, At = now, Reason = waitReason ?? "submitted", Actor = spec.Owner }, cancellationToken).ConfigureAwait(false);
                _active[id] = job;
            }
            finally { _gate.Release(); }
        }
        catch
        {
            await ReleaseAsync(admittedBy, context).ConfigureAwait(false);
            throw;
        }
        s_submitted.Add(1);
        LogSubmitted(_logger, id, spec.Owner, state);
        if (state == JobState.AwaitingApproval) await NotifyAsync(job, null).ConfigureAwait(false);
        Wake();
        return new JobHandle(this, id);
    }

    /// <inheritdoc/>
    public Task<JobRecord?> GetJobAsync(string jobId, CancellationToken cancellationToken = default) => _store.GetAsync(jobId, cancellationToken);

    /// <inheritdoc/>
    public IAsyncEnumerable<JobRecord> ListJobsAsync(JobQuery? query = null, CancellationToken cancellationToken = default) =>
        _store.QueryAsync(query ?? new JobQuery(), cancellationToken);

    /// <inheritdoc/>
    public Task<IReadOnlyList<JobTransition>> GetHistoryAsync(string jobId, CancellationToken cancellationToken = default) => _store.GetHistoryAsync(jobId, cancellationToken);

    /// <inheritdoc/>
    public Task<UsageRecord?> GetUsageAsync(string jobId, CancellationToken cancellationToken = default) => _store.GetUsageAsync(jobId, cancellationToken);

    /// <inheritdoc/>
    public async Task<JobRecord> CancelAsync(string jobId, string? actor = null, CancellationToken cancellationToken = default)
    {
        EnsureStarted();
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var job = await LoadAsync(jobId, cancellationToken).ConfigureAwait(false);
            if (job.IsTerminal) return job;
            string reason = actor is null ? "cancelled" : $"cancelled by {actor}";
            if (job.BackendJobId is null)
            {
                // Never reached a backend: it ends here, costs nothing, and its holds are released by the usage record.
                job = await TransitionAsync(job, j => j with { State = JobState.Cancelled, Reason = reason, EndedAt = _time.GetUtcNow(), CancelRequested = true }, actor, cancellationToken).ConfigureAwait(false);
                return await FinishAsync(job, null, cancellationToken).ConfigureAwait(false);
            }
            job = await UpdateAsync(job, j => j with { CancelRequested = true, Reason = reason }, cancellationToken).ConfigureAwait(false);
            var backend = BackendOf(job);
            try { await backend.CancelAsync(job.BackendJobId!, cancellationToken).ConfigureAwait(false); }
            catch (JobNotFoundException) { /* the backend lost it: settled as NodeFailed by tracking */ }
            var status = await backend.GetStatusAsync(job.BackendJobId!, cancellationToken).ConfigureAwait(false);
            if (status is not null) job = await ApplyStatusAsync(job, status, cancellationToken).ConfigureAwait(false);
            return job;
        }
        finally { _gate.Release(); }
    }

    /// <inheritdoc/>
    public async Task<JobRecord> ApproveAsync(string jobId, string approver, string? reason = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(approver);
        EnsureStarted();
        JobRecord job;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            job = await LoadAsync(jobId, cancellationToken).ConfigureAwait(false);
            if (job.State != JobState.AwaitingApproval) throw new InvalidJobStateException(jobId, job.State, "approve");
            var decision = new ApprovalDecision { Approved = true, By = approver, At = _time.GetUtcNow(), Reason = reason };
            job = await TransitionAsync(job, j => j with { State = JobState.Queued, Approval = decision, Reason = "approved by " + approver + (reason is null ? "" : ": " + reason) }, approver, cancellationToken).ConfigureAwait(false);
        }
        finally { _gate.Release(); }
        await NotifyAsync(job, JobState.AwaitingApproval).ConfigureAwait(false);
        Wake();
        return job;
    }

    /// <inheritdoc/>
    public async Task<JobRecord> RejectAsync(string jobId, string approver, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(approver);
        if (string.IsNullOrWhiteSpace(reason)) throw new JobValidationException("reason", "is required when rejecting a job");
        EnsureStarted();
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var job = await LoadAsync(jobId, cancellationToken).ConfigureAwait(false);
            if (job.State != JobState.AwaitingApproval) throw new InvalidJobStateException(jobId, job.State, "reject");
            var decision = new ApprovalDecision { Approved = false, By = approver, At = _time.GetUtcNow(), Reason = reason };
            job = await TransitionAsync(job, j => j with { State = JobState.Rejected, Approval = decision, Reason = $"rejected by {approver}: {reason}", EndedAt = _time.GetUtcNow() }, approver, cancellationToken).ConfigureAwait(false);
            return await FinishAsync(job, null, cancellationToken).ConfigureAwait(false);
        }
        finally { _gate.Release(); }
    }

    /// <inheritdoc/>
    public async Task<JobRecord> WaitForCompletionAsync(string jobId, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var tcs = _waiters.GetOrAdd(jobId, _ => new TaskCompletionSource<JobRecord>(TaskCreationOptions.RunContinuationsAsynchronously));
            var job = await _store.GetAsync(jobId, cancellationToken).ConfigureAwait(false) ?? throw new JobNotFoundException(jobId);
            if (job.IsTerminal && job.UsageDelivered) return job;
            // Wake at least every poll interval, so a job finished by another engine instance is seen too.
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(_options.PollInterval * 5, _time, cts.Token);
            var done = await Task.WhenAny(tcs.Task, delay).ConfigureAwait(false);
            await cts.CancelAsync().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            if (done == tcs.Task) return await tcs.Task.ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async Task<JobLogs> GetLogsAsync(string jobId, CancellationToken cancellationToken = default)
    {
        var job = await _store.GetAsync(jobId, cancellationToken).ConfigureAwait(false) ?? throw new JobNotFoundException(jobId);
        if (job.BackendJobId is null) return JobLogs.Empty;
        try { return await BackendOf(job).GetLogsAsync(job.BackendJobId, cancellationToken).ConfigureAwait(false); }
        catch (JobNotFoundException) { return JobLogs.Empty; }
    }

    /// <summary>
    /// Breaks a queued job's priority down by factor, like Slurm's <c>sprio</c>, when the queue ordering is
    /// <c>multifactor</c> or <c>fair-tree</c>; null for other orderings or jobs that are not queued.
    /// </summary>
    public async Task<CompGrid.Ordering.PriorityExplanation?> ExplainPriorityAsync(string jobId, CancellationToken cancellationToken = default)
    {
        if (_ordering is not CompGrid.Ordering.MultifactorPriorityPolicy multifactor) return null;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_active.TryGetValue(jobId, out var job) || job.State != JobState.Queued) return null;
            var queue = _active.Values.Where(j => j.State == JobState.Queued).ToList();
            return multifactor.Explain(job, new QueueOrderingContext { Now = _time.GetUtcNow() }, queue);
        }
        finally { _gate.Release(); }
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<NodeInfo>> GetNodesAsync(CancellationToken cancellationToken = default)
    {
        var all = new List<NodeInfo>();
        foreach (var b in _backends)
        {
            try { all.AddRange(await b.GetNodesAsync(cancellationToken).ConfigureAwait(false)); }
            catch (CompGridException ex)
            {
                LogBackendError(_logger, b.Name, "nodes", ex.Message);
                all.Add(new NodeInfo { Name = b.Name, Backend = b.Name, State = NodeState.Down, Reason = ex.Message });
            }
        }
        return all;
    }

    // ---------------------------------------------------------------- loop

    private void Wake() { try { _wake.Release(); } catch (ObjectDisposedException) { } }

    private async Task LoopAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try { await RunCycleAsync(stop).ConfigureAwait(false); }
            catch (OperationCanceledException) when (stop.IsCancellationRequested) { break; }
            catch (Exception ex) { LogCycleFailed(_logger, ex); }
            try
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(stop);
                var delay = Task.Delay(_options.PollInterval, _time, cts.Token);
                await Task.WhenAny(_wake.WaitAsync(cts.Token), delay).ConfigureAwait(false);
                await cts.CancelAsync().ConfigureAwait(false);
                while (_wake.CurrentCount > 0) await _wake.WaitAsync(stop).ConfigureAwait(false); // coalesce wake-ups
            }
            catch (OperationCanceledException) { break; }
        }
    }

    // Several instances on one store: only the lease holder schedules. A new holder reconciles first; the holder
    // re-reads the active jobs each cycle, since other instances submit, cancel and approve through the store.
    private async Task RunLeasedCycleAsync(CancellationToken stop)
    {
        bool was = Volatile.Read(ref _leading);
        if (!await TryLeadAsync(stop).ConfigureAwait(false)) return;
        if (!was) await ReconcileAsync(stop).ConfigureAwait(false);
        else await RefreshFromStoreAsync(stop).ConfigureAwait(false);
        await RunCycleCoreAsync(stop).ConfigureAwait(false);
    }

    private async Task<bool> TryLeadAsync(CancellationToken ct)
    {
        bool leading;
        try { leading = await _lease!.TryAcquireAsync(ct).ConfigureAwait(false); }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogLease(_logger, ex.Message);
            leading = false;
        }
        bool was = Volatile.Read(ref _leading);
        Volatile.Write(ref _leading, leading);
        if (leading != was) LogLeadership(_logger, leading ? "active" : "standby");
        return leading;
    }

    private async Task RefreshFromStoreAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            await foreach (var job in _store.QueryAsync(JobQuery.Active, ct).ConfigureAwait(false))
            {
                seen.Add(job.Id);
                if (!_active.TryGetValue(job.Id, out var cached) || cached.Version < job.Version) _active[job.Id] = job;
            }
            // Ended elsewhere (cancelled before dispatch by another instance): forget, unless usage is still owed here.
            foreach (var id in _active.Keys.Where(id => !seen.Contains(id)).ToList())
                if (!(_active[id].IsTerminal && !_active[id].UsageDelivered)) _active.Remove(id);
        }
        finally { _gate.Release(); }
    }

    private async Task WatchAsync(IBackendEventSource source, CancellationToken stop)
    {
        try
        {
            await foreach (var _ in source.WatchAsync(stop).ConfigureAwait(false)) Wake();
        }
        catch (OperationCanceledException) { }
        catch (Exception ex) { LogBackendError(_logger, (source as IComputeBackend)?.Name ?? "?", "events", ex.Message); }
    }

    private async Task TrackAsync(CancellationToken ct)
    {
        // Terminal jobs still here are waiting for their usage to reach every sink: try again.
        foreach (var job in _active.Values.Where(j => j.IsTerminal).ToList())
            await FinishAsync(job, job.BackendJobId is null ? null : BackendOf(job), ct).ConfigureAwait(false);

        foreach (var job in _active.Values.Where(j => j.BackendJobId is not null && !j.IsTerminal).ToList())
        {
            var backend = BackendOf(job);
            BackendJobStatus? status;
            try { status = await backend.GetStatusAsync(job.BackendJobId!, ct).ConfigureAwait(false); }
            catch (CompGridException ex)
            {
                LogBackendError(_logger, backend.Name, "status", ex.Message);
                continue; // transient or not, the job is retried next cycle; the backend marks lost nodes itself
            }
            if (status is null)
            {
                status = new BackendJobStatus
                {
                    BackendJobId = job.BackendJobId!, JobId = job.Id, State = JobState.NodeFailed,
                    Reason = $"backend '{backend.Name}' no longer knows job {job.BackendJobId}",
                };
            }
            await ApplyStatusAsync(job, status, ct).ConfigureAwait(false);
        }
    }

    private async Task ScheduleAsync(CancellationToken ct)
    {
        var pending = _active.Values.Where(j => j.State == JobState.Queued && j.BackendJobId is null).ToList();
        if (pending.Count == 0) return;
        var now = _time.GetUtcNow();
        int dispatched = 0;
        foreach (var group in pending.GroupBy(BackendOf).ToList())
        {
            var backend = group.Key;
            var jobs = group.ToList();
            if (backend.Capabilities.PlacesJobsItself)
            {
                // The backend places and orders its own queue; hand it the jobs in CompGrid's priority order.
                _ordering.Order(jobs, new QueueOrderingContext { Now = now });
                foreach (var job in jobs)
                {
                    if (dispatched >= _options.MaxDispatchPerCycle) return;
                    await DispatchAsync(job, backend, [], MemoryPerNode(job.Spec), ct).ConfigureAwait(false);
                    dispatched++;
                }
                continue;
            }
            var snapshot = await BuildSnapshotAsync(backend, ct).ConfigureAwait(false);
            if (snapshot is null)
            {
                foreach (var job in jobs) await SetReasonAsync(job, $"backend '{backend.Name}' is unreachable", ct).ConfigureAwait(false);
                continue;
            }
            // Ordering, limits, placement and EASY backfill: the same cycle the simulator runs.
            var decisions = _cycle.Run(snapshot, RunningOn(backend, snapshot, now), jobs, now, backend.Name);
            foreach (var d in decisions)
            {
                if (!d.Start)
                {
                    await SetReasonAsync(d.Job, d.ReasonText, ct).ConfigureAwait(false);
                    continue;
                }
                if (dispatched >= _options.MaxDispatchPerCycle) continue;
                var nodes = d.Nodes.Select(i => snapshot.Names[i]).ToList();
                await DispatchAsync(d.Job, backend, nodes, MemoryPerNode(d.Job.Spec), ct).ConfigureAwait(false);
                dispatched++;
            }
        }
    }

    private List<RunningJob> RunningOn(IComputeBackend backend, ClusterSnapshot snapshot, DateTimeOffset now)
    {
        var running = new List<RunningJob>();
        foreach (var job in _active.Values.Where(j => j.Backend == backend.Name && j.BackendJobId is not null && !j.IsTerminal))
        {
            var r = job.Spec.Resources;
            var req = new PlacementRequest(r.Cpus, MemoryPerNode(job.Spec), r.Gpus, r.Nodes, Exclusive: job.Spec.Constraints.Exclusive);
            int[] nodes = job.Nodes.Select(snapshot.IndexOf).Where(i => i >= 0).ToArray();
            var start = job.StartedAt ?? job.DispatchedAt ?? now;
            running.Add(new RunningJob(job, nodes, req, start + WalltimeOf(job.Spec)));
        }
        return running;
    }

    private async Task<ClusterSnapshot?> BuildSnapshotAsync(IComputeBackend backend, CancellationToken ct)
    {
        IReadOnlyList<NodeInfo> nodes;
        try { nodes = await backend.GetNodesAsync(ct).ConfigureAwait(false); }
        catch (CompGridException ex) { LogBackendError(_logger, backend.Name, "nodes", ex.Message); return null; }
        var snapshot = new ClusterSnapshot();
        foreach (var n in nodes)
            snapshot.AddNode(n.Name, n.Capacity, n.Capacity, n.Features, n.Partitions, n.GpuModel, n.State == NodeState.Up);
        // Free resources are capacity minus what CompGrid's own running jobs hold (this backend is ours to place on).
        foreach (var running in _active.Values.Where(j => j.Backend == backend.Name && j.BackendJobId is not null))
        {
            var r = running.Spec.Resources;
            var req = new PlacementRequest(r.Cpus, MemoryPerNode(running.Spec), r.Gpus, r.Nodes, Exclusive: running.Spec.Constraints.Exclusive);
            foreach (string node in running.Nodes)
            {
                int i = snapshot.IndexOf(node);
                if (i >= 0) ForceAllocate(snapshot, i, req);
            }
        }
        return snapshot;
    }

    // An adopted job may overlap a node's reported capacity (a node shrank); clamp instead of failing the cycle.
    private static void ForceAllocate(ClusterSnapshot s, int i, PlacementRequest r)
    {
        var clamped = r with
        {
            Cpus = Math.Min(r.Cpus, s.FreeCpus[i]), MemoryMiB = Math.Min(r.MemoryMiB, s.FreeMemoryMiB[i]), Gpus = Math.Min(r.Gpus, s.FreeGpus[i]),
            RequiredFeatures = 0, ForbiddenFeatures = 0, PartitionMask = 0, GpuModel = 0,
            Exclusive = r.Exclusive && s.JobCounts[i] == 0,
        };
        bool schedulable = s.Schedulable[i];
        if (!schedulable) s.SetSchedulable(i, true);
        if (s.Fits(i, clamped)) s.Allocate(i, clamped);
        if (!schedulable) s.SetSchedulable(i, false);
    }

    private async Task DispatchAsync(JobRecord job, IComputeBackend backend, IReadOnlyList<string> nodes, long memPerNode, CancellationToken ct)
    {
        using var activity = s_activity.StartActivity("compgrid.dispatch");
        activity?.SetTag("compgrid.job_id", job.Id);
        activity?.SetTag("compgrid.backend", backend.Name);
        var request = new BackendJobRequest { JobId = job.Id, Spec = job.Spec, Nodes = nodes, MemoryMiBPerNode = memPerNode, Walltime = WalltimeOf(job.Spec) };
        string backendJobId;
        var dispatchedAt = _time.GetUtcNow();
        try
        {
            backendJobId = await backend.SubmitAsync(request, ct).ConfigureAwait(false);
        }
        catch (CompGridException ex) when (ex.IsTransient)
        {
            LogBackendError(_logger, backend.Name, "submit", ex.Message);
            await SetReasonAsync(job, $"backend '{backend.Name}' unavailable, will retry: {ex.Message}", ct).ConfigureAwait(false);
            return;
        }
        catch (CompGridException ex)
        {
            LogBackendError(_logger, backend.Name, "submit", ex.Message);
            var rejected = await TransitionAsync(job, j => j with { State = JobState.Rejected, Reason = $"backend '{backend.Name}' refused the job: {ex.Message}", EndedAt = _time.GetUtcNow() }, "engine", ct).ConfigureAwait(false);
            await FinishAsync(rejected, null, ct).ConfigureAwait(false);
            return;
        }
        await UpdateAsync(job, j => j with { BackendJobId = backendJobId, Nodes = nodes, DispatchedAt = dispatchedAt, Reason = null }, ct).ConfigureAwait(false);
        LogDispatched(_logger, job.Id, backend.Name, backendJobId, string.Join(",", nodes));
    }

    private async Task<JobRecord> ApplyStatusAsync(JobRecord job, BackendJobStatus status, CancellationToken ct)
    {
        if (job.IsTerminal) return job;
        if (status.State.IsTerminal() && job.State == JobState.Queued && status.StartedAt is not null)
        {
            // It ran between two looks: record the start too, so the history shows Queued -> Running -> end.
            job = await TransitionAsync(job, j => j with { State = JobState.Running, StartedAt = status.StartedAt, NativeState = status.NativeState, Reason = null }, "engine", ct).ConfigureAwait(false);
        }
        if (status.State.IsTerminal())
        {
            var state = status.State;
            // A cancel we asked for may surface as a signal exit on some backends.
            if (job.CancelRequested && state is JobState.Failed) state = JobState.Cancelled;
            var ended = await TransitionAsync(job, j => j with
            {
                State = state,
                Reason = status.Reason ?? (state == JobState.Cancelled ? j.Reason ?? "cancelled" : j.Reason),
                NativeState = status.NativeState,
                ExitCode = status.ExitCode,
                Signal = status.Signal,
                StartedAt = j.StartedAt ?? status.StartedAt,
                EndedAt = status.EndedAt ?? _time.GetUtcNow(),
                Nodes = status.Nodes.Count > 0 ? status.Nodes : j.Nodes,
            }, "engine", ct).ConfigureAwait(false);
            return await FinishAsync(ended, BackendOf(job), ct).ConfigureAwait(false);
        }
        if (status.State == JobState.Running && job.State == JobState.Queued)
        {
            var running = await TransitionAsync(job, j => j with
            {
                State = JobState.Running, StartedAt = status.StartedAt ?? _time.GetUtcNow(), NativeState = status.NativeState, Reason = null,
                Nodes = status.Nodes.Count > 0 ? status.Nodes : j.Nodes,
            }, "engine", ct).ConfigureAwait(false);
            await NotifyAsync(running, JobState.Queued).ConfigureAwait(false);
            return running;
        }
        if (status.NativeState != job.NativeState || (status.State == JobState.Queued && status.Reason is not null && status.Reason != job.Reason))
            return await UpdateAsync(job, j => j with { NativeState = status.NativeState, Reason = status.State == JobState.Queued ? status.Reason ?? j.Reason : j.Reason }, ct).ConfigureAwait(false);
        return job;
    }

    // The terminal state is persisted; now usage (exactly once, idempotent sinks), clean-up, notification, waiters.
    private async Task<JobRecord> FinishAsync(JobRecord job, IComputeBackend? backend, CancellationToken ct)
    {
        _active.Remove(job.Id);
        if (!job.UsageDelivered)
        {
            UsageRecord? usage = null;
            if (backend is not null && job.BackendJobId is not null)
            {
                try { usage = await backend.GetUsageAsync(job.BackendJobId, ct).ConfigureAwait(false); }
                catch (CompGridException ex) { LogBackendError(_logger, backend.Name, "usage", ex.Message); }
            }
            usage = Complete(usage, job);
            await _store.TryAddUsageAsync(usage, ct).ConfigureAwait(false);
            var stored = await _store.GetUsageAsync(job.Id, ct).ConfigureAwait(false) ?? usage;
            foreach (var sink in _sinks)
            {
                try { await sink.RecordAsync(stored, ct).ConfigureAwait(false); }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Not marked delivered: the next start delivers again, and sinks are idempotent by job id.
                    LogSinkFailed(_logger, job.Id, ex);
                    _active[job.Id] = job; // retried by the next cycle
                    return job;
                }
            }
            job = await UpdateAsync(job, j => j with { UsageDelivered = true }, ct).ConfigureAwait(false);
        }
        if (backend is not null && job.BackendJobId is not null)
        {
            try { await backend.CompleteAsync(job.BackendJobId, ct).ConfigureAwait(false); }
            catch (CompGridException ex) { LogBackendError(_logger, backend.Name, "complete", ex.Message); }
        }
        s_finished.Add(1);
        LogFinished(_logger, job.Id, job.State, job.ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-", job.Reason ?? "");
        await NotifyAsync(job, null).ConfigureAwait(false);
        if (_waiters.TryRemove(job.Id, out var tcs)) tcs.TrySetResult(job);
        return job;
    }

    // Fills what the backend's accounting left out from the job record (or builds the record for jobs that never ran).
    private UsageRecord Complete(UsageRecord? usage, JobRecord job)
    {
        var r = job.Spec.Resources;
        bool ran = job.StartedAt is not null && job.BackendJobId is not null;
        var elapsed = ran && job.EndedAt is { } end ? end - job.StartedAt!.Value : TimeSpan.Zero;
        if (elapsed < TimeSpan.Zero) elapsed = TimeSpan.Zero;
        usage ??= new UsageRecord
        {
            Elapsed = elapsed,
            AllocatedCpus = ran ? r.TotalCpus : 0,
            AllocatedMemoryMiB = ran ? MemoryPerNode(job.Spec) * r.Nodes : 0,
            AllocatedGpus = ran ? r.TotalGpus : 0,
            NodeCount = ran ? r.Nodes : 0,
        };
        return usage with
        {
            JobId = job.Id,
            Account = usage.Account ?? job.Spec.Account,
            User = string.IsNullOrEmpty(usage.User) ? job.Spec.Owner : usage.User,
            Backend = usage.Backend ?? job.Backend,
            BackendJobId = usage.BackendJobId ?? job.BackendJobId,
            Partition = usage.Partition ?? job.Spec.Constraints.Partition,
            Qos = usage.Qos ?? job.Spec.Qos,
            Nodes = usage.Nodes.Count > 0 ? usage.Nodes : job.Nodes,
            StartedAt = usage.StartedAt ?? (ran ? job.StartedAt : null),
            EndedAt = usage.EndedAt ?? job.EndedAt,
            GpuModel = usage.GpuModel ?? r.GpuModel,
            ExitCode = usage.ExitCode ?? job.ExitCode,
            FinalState = job.State,
        };
    }

    // ---------------------------------------------------------------- reconciliation

    private async Task ReconcileAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            _active.Clear();
            await foreach (var job in _store.QueryAsync(JobQuery.Active, ct).ConfigureAwait(false)) _active[job.Id] = job;

            // Terminal jobs whose usage was not delivered (a crash between the two): deliver now.
            await foreach (var job in _store.QueryAsync(new JobQuery { States = Enum.GetValues<JobState>().Where(s => s.IsTerminal()).ToList(), Limit = int.MaxValue }, ct).ConfigureAwait(false))
                if (!job.UsageDelivered)
                    await FinishAsync(job, job.Backend is null ? null : _backends.FirstOrDefault(b => b.Name == job.Backend), ct).ConfigureAwait(false);

            // Adopt backend jobs that carry a CompGrid id the store knows but never recorded (a crash right after submit).
            foreach (var backend in _backends)
            {
                try
                {
                    await foreach (var s in backend.ListJobsAsync(ct).ConfigureAwait(false))
                    {
                        if (s.JobId is null || !_active.TryGetValue(s.JobId, out var job) || job.BackendJobId is not null) continue;
                        if (job.Backend != backend.Name) continue;
                        LogAdopted(_logger, job.Id, backend.Name, s.BackendJobId);
                        await UpdateAsync(job, j => j with { BackendJobId = s.BackendJobId, Nodes = s.Nodes, DispatchedAt = j.DispatchedAt ?? _time.GetUtcNow() }, ct).ConfigureAwait(false);
                    }
                }
                catch (CompGridException ex) { LogBackendError(_logger, backend.Name, "list", ex.Message); }
            }
            // Settle or adopt everything dispatched: running jobs are tracked again, ended ones are finished.
            await TrackAsync(ct).ConfigureAwait(false);
        }
        finally { _gate.Release(); }
    }

    // ---------------------------------------------------------------- persistence helpers

    private async Task<JobRecord> LoadAsync(string jobId, CancellationToken ct)
    {
        // With several instances the store is the truth; alone, the active set is.
        if (_lease is null && _active.TryGetValue(jobId, out var job)) return job;
        return await _store.GetAsync(jobId, ct).ConfigureAwait(false) ?? throw new JobNotFoundException(jobId);
    }

    private Task<JobRecord> UpdateAsync(JobRecord job, Func<JobRecord, JobRecord> change, CancellationToken ct) => SaveAsync(job, change, null, ct);

    private async Task<JobRecord> TransitionAsync(JobRecord job, Func<JobRecord, JobRecord> change, string? actor, CancellationToken ct)
    {
        var next = change(job);
        var transition = new JobTransition { JobId = job.Id, From = job.State, To = next.State, At = _time.GetUtcNow(), Reason = next.Reason, Actor = actor };
        return await SaveAsync(job, _ => next, transition, ct).ConfigureAwait(false);
    }

    private async Task<JobRecord> SaveAsync(JobRecord job, Func<JobRecord, JobRecord> change, JobTransition? transition, CancellationToken ct)
    {
        var next = change(job) with { Version = job.Version + 1 };
        if (!await _store.TryUpdateAsync(next, job.Version, transition, ct).ConfigureAwait(false))
        {
            // Another writer (a second engine instance or an operator) changed the job: take the stored record.
            var current = await _store.GetAsync(job.Id, ct).ConfigureAwait(false) ?? throw new JobNotFoundException(job.Id);
            if (current.IsTerminal) _active.Remove(job.Id); else _active[job.Id] = current;
            throw new CompGridException($"Job '{job.Id}' was changed concurrently (version {job.Version} is stale).") { JobId = job.Id, Operation = "update", IsTransient = true };
        }
        if (!next.IsTerminal || !next.UsageDelivered) _active[next.Id] = next;
        if (next.IsTerminal && next.UsageDelivered) _active.Remove(next.Id);
        return next;
    }

    private async Task SetReasonAsync(JobRecord job, string reason, CancellationToken ct)
    {
        if (job.Reason == reason) return;
        await UpdateAsync(job, j => j with { Reason = reason }, ct).ConfigureAwait(false);
    }

    private async Task NotifyAsync(JobRecord job, JobState? previous)
    {
        var settings = job.Spec.Notifications;
        bool wanted = settings is { OnStates.Count: > 0 }
            ? settings.OnStates.Contains(job.State)
            : job.IsTerminal || job.State == JobState.AwaitingApproval || job.State == JobState.Running;
        if (!wanted) return;
        var n = new JobNotification { Job = job, PreviousState = previous, At = _time.GetUtcNow() };
        foreach (var notifier in _notifiers)
        {
            try { await notifier.NotifyAsync(n, CancellationToken.None).ConfigureAwait(false); }
            catch (Exception ex) { LogNotifyFailed(_logger, job.Id, ex); }
        }
    }

    private static async Task ReleaseAsync(List<IAdmissionCheck> checks, AdmissionContext context)
    {
        for (int i = checks.Count - 1; i >= 0; i--)
            await checks[i].ReleaseAsync(context, CancellationToken.None).ConfigureAwait(false);
    }

    // ---------------------------------------------------------------- routing and defaults

    private IComputeBackend? Route(JobSpec spec, out string? error, out string field)
    {
        field = "constraints.backend";
        error = null;
        var kind = spec.Payload!.Kind;
        if (spec.Constraints.Backend is { } name)
        {
            var named = _backends.FirstOrDefault(b => b.Name == name);
            if (named is null) { error = $"unknown backend '{name}'; registered: {string.Join(", ", _backends.Select(b => b.Name))}"; return null; }
            error = CannotRun(named, spec);
            if (error is not null) field = FieldOf(named, spec);
            return error is null ? named : null;
        }
        var candidates = _options.DefaultBackend is { } def ? _backends.Where(b => b.Name == def).Concat(_backends.Where(b => b.Name != def)) : _backends;
        foreach (var b in candidates)
            if (CannotRun(b, spec) is null) return b;
        field = kind == PayloadKind.Container ? "payload.image" : spec.Resources.Gpus > 0 ? "resources.gpus" : "resources.nodes";
        error = $"no registered backend can run this job ({CannotRun(_backends[0], spec)})";
        return null;
    }

    private static string? CannotRun(IComputeBackend b, JobSpec spec)
    {
        var caps = b.Capabilities;
        if (!caps.Payloads.Contains(spec.Payload!.Kind)) return $"backend '{b.Name}' does not run {spec.Payload.Kind} payloads";
        if (spec.Resources.Gpus > 0 && !caps.Gpus) return $"backend '{b.Name}' has no GPUs";
        if (spec.Resources.Nodes > 1 && !caps.MultiNode) return $"backend '{b.Name}' runs single-node jobs only";
        return null;
    }

    private static string FieldOf(IComputeBackend b, JobSpec spec) =>
        !b.Capabilities.Payloads.Contains(spec.Payload!.Kind) ? "payload" : spec.Resources.Gpus > 0 && !b.Capabilities.Gpus ? "resources.gpus" : "resources.nodes";

    private IComputeBackend BackendOf(JobRecord job) =>
        _backends.FirstOrDefault(b => b.Name == job.Backend)
        ?? throw new CompGridException($"Job '{job.Id}' belongs to backend '{job.Backend}', which is not registered.") { JobId = job.Id, Backend = job.Backend };

    private TimeSpan WalltimeOf(JobSpec spec) => spec.Walltime ?? _options.DefaultWalltime;

    private long MemoryPerNode(JobSpec spec) => spec.Resources.MemoryMiB > 0 ? spec.Resources.MemoryMiB : _options.DefaultMemoryMiBPerCpu * spec.Resources.Cpus;

    private string NewJobId()
    {
        // Sortable by submit time: "cg-" + 12 hex digits of milliseconds + 8 random hex digits.
        long ms = _time.GetUtcNow().ToUnixTimeMilliseconds();
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"cg-{ms:x12}{Random.Shared.Next():x8}");
    }

    private void EnsureStarted()
    {
        if (Volatile.Read(ref _started) == 0)
            throw new InvalidOperationException("The engine is not started: call StartAsync first (the hosted service does this in a host).");
    }

    // ---------------------------------------------------------------- logging

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "CompGrid engine started: {Backends} backend(s), placement {Placement}, ordering {Ordering}")]
    private static partial void LogStarted(ILogger logger, int backends, string placement, string ordering);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Job {JobId} submitted by {Owner}: {State}")]
    private static partial void LogSubmitted(ILogger logger, string jobId, string owner, JobState state);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Job {JobId} of {Owner} rejected at admission: {Reason}")]
    private static partial void LogRejected(ILogger logger, string jobId, string owner, string reason);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Job {JobId} dispatched to {Backend} as {BackendJobId} on [{Nodes}]")]
    private static partial void LogDispatched(ILogger logger, string jobId, string backend, string backendJobId, string nodes);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "Job {JobId} finished: {State} exit {ExitCode} {Reason}")]
    private static partial void LogFinished(ILogger logger, string jobId, JobState state, string exitCode, string reason);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "Backend {Backend} failed during {Operation}: {Message}")]
    private static partial void LogBackendError(ILogger logger, string backend, string operation, string message);

    [LoggerMessage(EventId = 7, Level = LogLevel.Error, Message = "Scheduling cycle failed")]
    private static partial void LogCycleFailed(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 8, Level = LogLevel.Error, Message = "Usage sink failed for job {JobId}; delivery is retried in the next cycle")]
    private static partial void LogSinkFailed(ILogger logger, string jobId, Exception ex);

    [LoggerMessage(EventId = 9, Level = LogLevel.Warning, Message = "Notifier failed for job {JobId}")]
    private static partial void LogNotifyFailed(ILogger logger, string jobId, Exception ex);

    [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "This engine instance is now the {Role} scheduler")]
    private static partial void LogLeadership(ILogger logger, string role);

    [LoggerMessage(EventId = 12, Level = LogLevel.Warning, Message = "Could not check the scheduler lease: {Message}")]
    private static partial void LogLease(ILogger logger, string message);

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Job {JobId} adopted from {Backend} as {BackendJobId}")]
    private static partial void LogAdopted(ILogger logger, string jobId, string backend, string backendJobId);
}

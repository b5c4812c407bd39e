using CompGrid.Backfill;
using CompGrid.Ordering;

namespace CompGrid;

/// <summary>
/// The CompGrid engine: validates and admits jobs, keeps the durable queue, places and dispatches jobs on backends,
/// tracks them to a terminal state, delivers usage records exactly once, sends notifications and reconciles with the
/// backends after a restart. Every transition is persisted before its side effect is acknowledged.
/// Create it with <c>services.AddCompGrid()</c> or, without DI, with <see cref="Create"/>.
/// </summary>
/// <remarks>
/// A thin facade: the lifecycle and <see cref="ICompGridClient"/> live here; the work is done by internal components
/// with one job each (admission, routing and defaults, the active-job cache with its persistence, tracking, dispatch,
/// usage delivery, notifications, reconciliation and the scheduler loop), wired in the constructor.
/// </remarks>
public sealed class CompGridEngine : ICompGridClient, IAsyncDisposable
{
    private readonly EngineServices _services;
    private readonly ActiveJobs _jobs;
    private readonly JobRouter _router;
    private readonly JobAdmission _admission;
    private readonly JobNotificationSender _notifications;
    private readonly CompletionWaiters _waiters;
    private readonly JobCompletion _completion;
    private readonly JobTracker _tracker;
    private readonly JobCommands _commands;
    private readonly JobReconciler _reconciler;
    private readonly SchedulerLeadership _leadership;
    private readonly SchedulerLoop _loop;
    private IQueueOrderingPolicy? _ordering;
    private JobDispatcher? _dispatcher;

    /// <summary>Decision passes the scheduler ran and the pending jobs they evaluated (tests count a cycle's work with it).</summary>
    internal (long Passes, long Jobs) SchedulingWork => _dispatcher?.Queues.Work ?? default;

    /// <summary>Tests only: decide every cycle from the whole cache (the reference path the kept queue is checked against).</summary>
    internal bool FullSchedulingPass
    {
        get => _fullPass;
        set { _fullPass = value; if (_dispatcher is not null) _dispatcher.FullPath = value; }
    }

    private bool _fullPass;
    private IDisposable? _ownedServices;
    private int _started;

    internal CompGridEngine(EngineServices services)
    {
        _services = services;
        var (options, time, logger) = (services.Options, services.Time, services.Logger);
        _leadership = new SchedulerLeadership(services.Lease, logger);
        _jobs = new ActiveJobs(services.Store, time, shared: _leadership.IsShared);
        _router = new JobRouter(services.Backends, options, time, logger);
        _admission = new JobAdmission(_router, services.AdmissionChecks, options, time, logger);
        _notifications = new JobNotificationSender(services.NotificationOutbox);
        _waiters = new CompletionWaiters(services.Store, options, time);
        _completion = new JobCompletion(_jobs, services.Store, services.UsageSinks, new DeliveredUsage(_router, time, logger), _notifications, _waiters, logger);
        _tracker = new JobTracker(_jobs, _router, _completion, _notifications, time, logger);
        _commands = new JobCommands(_jobs, _router, _tracker, _completion, _notifications, time);
        _reconciler = new JobReconciler(_jobs, services.Store, _router, _tracker, _completion, time, logger);
        _loop = new SchedulerLoop(_jobs, _tracker, _reconciler, _leadership, services.Backends, options, time, logger);
    }

    /// <summary>
    /// Whether this instance schedules: always without an <see cref="ISchedulerLease"/>; with one, while it holds the
    /// lease (the other instances stand by).
    /// </summary>
    public bool IsActiveScheduler => _leadership.IsActive;

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

    /// <summary>A job's walltime after the engine's default (the power manager matches nodes' windows with it).</summary>
    internal TimeSpan WalltimeOf(JobSpec spec) => _router.WalltimeOf(spec);

    /// <summary>The registered backends.</summary>
    public IReadOnlyList<IComputeBackend> Backends => _router.Backends;

    /// <summary>
    /// Validates the configuration (policy names, backends), initialises the store, reconciles with the backends and
    /// starts the scheduling loop. An unknown policy name fails here, never later.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _started, 1) == 1) return;
        var (options, policies, scheduling) = (_services.Options, _services.Policies, _services.Scheduling);
        var placement = policies.TryGetPlacement(options.PlacementPolicy, out var p) ? p
            : throw new CompGridException($"Unknown placement policy '{options.PlacementPolicy}' (CompGrid:PlacementPolicy). Registered: {string.Join(", ", policies.PlacementNames)}.") { Operation = "start" };
        var ordering = policies.TryGetOrdering(options.QueueOrdering, out var o) ? o
            : throw new CompGridException($"Unknown queue ordering policy '{options.QueueOrdering}' (CompGrid:QueueOrdering). Registered: {string.Join(", ", policies.OrderingNames)}.") { Operation = "start" };
        if (scheduling.Validate() is { Count: > 0 } schedulingErrors)
            throw new CompGridException("CompGrid:Scheduling is invalid: " + string.Join(" ", schedulingErrors)) { Operation = "start" };
        var cycle = new SchedulingCycle(ordering, placement, _router.WalltimeOf, _router.MemoryPerNode, scheduling.Backfill, scheduling.Limits);
        _router.Validate();
        _ordering = ordering;

        await _services.Store.InitializeAsync(cancellationToken).ConfigureAwait(false);
        // Fair share starts from the usage stored with the jobs (a restart, or another instance's charges).
        if (_services.FairShare is { } fairShare) await fairShare.StartAsync(cancellationToken).ConfigureAwait(false);
        if (await _leadership.TryLeadAsync(cancellationToken).ConfigureAwait(false))
            await _reconciler.ReconcileAsync(cancellationToken).ConfigureAwait(false);

        var windows = _services.Availability is { IsEmpty: false } a ? a : null;   // availability windows: placement and their ends
        var snapshots = new BackendSnapshotBuilder(_jobs, _router, _services.Logger, windows is null ? null : new(windows, _router.WalltimeOf, _router.MemoryPerNode), _services.Time);
        // The pending queues are kept between cycles, fed by the active-job cache's changes (submit, approve, dispatch, end).
        var queues = new CompGrid.Scheduling.Cycle.EngineQueues(cycle);
        using (await _jobs.LockAsync(cancellationToken).ConfigureAwait(false)) _jobs.Observe(queues);
        _dispatcher = new JobDispatcher(_jobs, _router, snapshots, _completion, ordering, queues, options, _services.Time, _services.Logger,
            windows is null ? null : new(windows, _jobs, _router, _tracker, _services.Time, _services.Logger)) { FullPath = FullSchedulingPass };
        _loop.Start(_dispatcher);
        // Notifications leave through the outbox worker, beside the loop (a host's hosted service may have started it already).
        await _services.NotificationWorker.StartAsync(cancellationToken).ConfigureAwait(false);
        Log.Started(_services.Logger, _router.Backends.Count, placement.Name, ordering.Name);
    }

    /// <summary>Stops the scheduling loop. Running jobs keep running on their backends and are adopted at the next start.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await _loop.StopAsync(cancellationToken).ConfigureAwait(false);
        await _services.NotificationWorker.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        if (_ownedServices is IAsyncDisposable ad) await ad.DisposeAsync().ConfigureAwait(false);
        else _ownedServices?.Dispose();
        _jobs.Dispose();
        _loop.Dispose();
    }

    /// <summary>
    /// Runs one scheduling cycle now (track, then place and dispatch); with an <see cref="ISchedulerLease"/>, only if this
    /// instance holds the lease. Useful with a manual clock in tests.
    /// </summary>
    public Task RunCycleAsync(CancellationToken cancellationToken = default) => _loop.RunCycleAsync(cancellationToken);

    // ---------------------------------------------------------------- client API

    /// <inheritdoc/>
    public async Task<JobHandle> SubmitAsync(JobSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        EnsureStarted();
        using var activity = EngineTelemetry.Source.StartActivity("compgrid.submit");
        activity?.SetTag("compgrid.owner", spec.Owner);
        var admitted = await _admission.AdmitAsync(spec, cancellationToken).ConfigureAwait(false);
        var job = admitted.Job;
        try
        {
            await _jobs.CreateAsync(job, admitted.Transition, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await admitted.ReleaseAsync().ConfigureAwait(false);
            throw;
        }
        EngineTelemetry.Submitted.Add(1);
        Log.Submitted(_services.Logger, job.Id, spec.Owner, job.State);
        if (job.State == JobState.AwaitingApproval) await _notifications.SendAsync(job, null).ConfigureAwait(false);
        _loop.Wake();
        return new JobHandle(this, job.Id);
    }

    /// <inheritdoc/>
    public Task<JobRecord?> GetJobAsync(string jobId, CancellationToken cancellationToken = default) => _services.Store.GetAsync(jobId, cancellationToken);

    /// <inheritdoc/>
    public IAsyncEnumerable<JobRecord> ListJobsAsync(JobQuery? query = null, CancellationToken cancellationToken = default) =>
        _services.Store.QueryAsync(query ?? new JobQuery(), cancellationToken);

    /// <inheritdoc/>
    public Task<IReadOnlyList<JobTransition>> GetHistoryAsync(string jobId, CancellationToken cancellationToken = default) => _services.Store.GetHistoryAsync(jobId, cancellationToken);

    /// <inheritdoc/>
    public Task<UsageRecord?> GetUsageAsync(string jobId, CancellationToken cancellationToken = default) => _services.Store.GetUsageAsync(jobId, cancellationToken);

    /// <inheritdoc/>
    public Task<JobRecord> CancelAsync(string jobId, string? actor = null, CancellationToken cancellationToken = default)
    {
        EnsureStarted();
        return _commands.CancelAsync(jobId, actor, cancellationToken);
    }

    /// <inheritdoc/>
    public async Task<JobRecord> ApproveAsync(string jobId, string approver, string? reason = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(approver);
        EnsureStarted();
        var job = await _commands.ApproveAsync(jobId, approver, reason, cancellationToken).ConfigureAwait(false);
        _loop.Wake();
        return job;
    }

    /// <inheritdoc/>
    public Task<JobRecord> RejectAsync(string jobId, string approver, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(approver);
        if (string.IsNullOrWhiteSpace(reason)) throw new JobValidationException("reason", "is required when rejecting a job");
        EnsureStarted();
        return _commands.RejectAsync(jobId, approver, reason, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<JobRecord> WaitForCompletionAsync(string jobId, CancellationToken cancellationToken = default) => _waiters.WaitAsync(jobId, cancellationToken);

    /// <inheritdoc/>
    public async Task<JobLogs> GetLogsAsync(string jobId, CancellationToken cancellationToken = default)
    {
        var job = await _services.Store.GetAsync(jobId, cancellationToken).ConfigureAwait(false) ?? throw new JobNotFoundException(jobId);
        if (job.BackendJobId is null) return JobLogs.Empty;
        try { return await _router.BackendOf(job).GetLogsAsync(job.BackendJobId, cancellationToken).ConfigureAwait(false); }
        catch (JobNotFoundException) { return JobLogs.Empty; }
    }

    /// <summary>
    /// Breaks a queued job's priority down by factor, like Slurm's <c>sprio</c>, when the queue ordering is
    /// <c>multifactor</c> or <c>fair-tree</c>; null for other orderings or jobs that are not queued.
    /// </summary>
    public async Task<PriorityExplanation?> ExplainPriorityAsync(string jobId, CancellationToken cancellationToken = default)
    {
        if (_ordering is not MultifactorPriorityPolicy multifactor) return null;
        using (await _jobs.LockAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!_jobs.TryGet(jobId, out var job) || job.State != JobState.Queued) return null;
            var queue = _jobs.Where(j => j.State == JobState.Queued);
            return multifactor.Explain(job, new QueueOrderingContext { Now = _services.Time.GetUtcNow() }, queue);
        }
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<NodeInfo>> GetNodesAsync(CancellationToken cancellationToken = default) => _router.GetNodesAsync(cancellationToken);

    private void EnsureStarted()
    {
        if (Volatile.Read(ref _started) == 0)
            throw new InvalidOperationException("The engine is not started: call StartAsync first (the hosted service does this in a host).");
    }
}

using System.Collections.Concurrent;
using CompGrid.Sessions.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CompGrid.Sessions.Services;

/// <summary>
/// Long-running services as jobs: each replica is an ordinary engine job (placement, owner checks, limits and billing
/// apply, and each is charged like any job), listening on 127.0.0.1 at the port given in <c>PORT</c>. Every
/// <see cref="ServiceManagerOptions.PollInterval"/> the manager replaces replicas whose job ended, health-checks each
/// replica every <see cref="ServiceSpec.HealthInterval"/> (all on the injected clock) and replaces one after
/// <see cref="ServiceSpec.UnhealthyAfter"/> failures in a row, and scales between the minimum and the maximum by the
/// requests per second that the portal's proxy counted (<see cref="Acquire"/>).
/// </summary>
/// <example>
/// <code>
/// using var services = ServiceManager.Create(engine, new ServiceManagerOptions());
/// await services.DeployAsync(new ServiceSpec
/// {
///     Name = "web", Owner = "alice", Account = "alice-lab", MinReplicas = 2, MaxReplicas = 4, TargetRequestsPerSecond = 50,
///     Payload = JobPayload.Command("python3 -m http.server \"$PORT\" --bind 127.0.0.1"),
/// });
/// using var lease = services.Acquire("web");   // the proxy: a healthy replica's address, or null
/// </code>
/// </example>
public sealed class ServiceManager : IDisposable
{
    private readonly ICompGridClient _grid;
    private readonly ServiceManagerOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly HttpClient _http;
    private readonly HealthProbe _probe;
    private readonly ConcurrentDictionary<string, ServiceState> _services = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _checking = new(1, 1);

    private ServiceManager(ICompGridClient grid, ServiceManagerOptions options, ILoggerFactory? loggerFactory, TimeProvider? timeProvider)
    {
        _grid = grid;
        _options = options;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("CompGrid.Sessions.Services");
        _time = timeProvider ?? TimeProvider.System;
        // Loopback only, no proxy from the environment; each check has its own timeout (HealthProbe).
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromSeconds(30) })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _probe = new HealthProbe(_http, _time);
        ServiceTelemetry.Register(this);
    }

    /// <summary>The services on <paramref name="grid"/> with <paramref name="options"/> (validated by <see cref="ServiceManagerOptionsValidator"/>).</summary>
    /// <exception cref="ArgumentException">The options are invalid; the message lists every failure.</exception>
    public static ServiceManager Create(ICompGridClient grid, ServiceManagerOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(grid);
        ArgumentNullException.ThrowIfNull(options);
        var result = new ServiceManagerOptionsValidator().Validate(null, options);
        if (result.Failed) throw new ArgumentException("Invalid service options: " + result.FailureMessage, nameof(options));
        return new ServiceManager(grid, options, loggerFactory, timeProvider);
    }

    /// <summary>The options in use.</summary>
    public ServiceManagerOptions Options => _options;

    /// <summary>
    /// Deploys <paramref name="spec"/>: submits its <see cref="ServiceSpec.MinReplicas"/> replica jobs and returns it.
    /// When the first replica is refused (admission, funds, policy), that exception is thrown and nothing is kept.
    /// </summary>
    /// <exception cref="JobValidationException">The spec breaks a rule; each error names its field.</exception>
    /// <exception cref="CompGridException">A service of that name exists (code <see cref="CompGridErrorCodes.ServiceExists"/>).</exception>
    public async Task<ServiceInfo> DeployAsync(ServiceSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var errors = spec.Validate(_options.MaxReplicasPerService);
        if (errors.Count > 0) throw new JobValidationException(errors);
        var now = _time.GetUtcNow();
        var state = new ServiceState(spec, $"{_options.PathPrefix}/{spec.Name}/", now, new RequestRateWindow(_options.RateWindow, _time));
        // No check pass while the first replicas are submitted: it would see too few and start more.
        await _checking.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_services.TryAdd(spec.Name, state))
                throw new CompGridException($"A service named '{spec.Name}' exists already.") { Code = CompGridErrorCodes.ServiceExists, Operation = "deploy" };
            try
            {
                for (int i = 0; i < spec.MinReplicas; i++) await StartReplicaAsync(state, cancellationToken).ConfigureAwait(false);
            }
            catch when (state.Replicas.Length == 0)
            {
                _services.TryRemove(spec.Name, out _);
                throw;
            }
        }
        finally { _checking.Release(); }
        ServiceLog.Deployed(_logger, spec.Name, spec.Owner, spec.MinReplicas);
        return state.Snapshot();
    }

    /// <summary>The service <paramref name="name"/>, or null.</summary>
    public ServiceInfo? Get(string name) => _services.TryGetValue(name, out var s) ? s.Snapshot() : null;

    /// <summary>Every service (of <paramref name="owner"/> when given), by name.</summary>
    public IReadOnlyList<ServiceInfo> List(string? owner = null) =>
        [.. _services.Values.Where(s => owner is null || s.Spec.Owner == owner).OrderBy(s => s.Spec.Name, StringComparer.Ordinal).Select(s => s.Snapshot())];

    /// <summary>Deletes a service: its replica jobs are cancelled (and charged like any cancelled job). Null when unknown.</summary>
    public async Task<ServiceInfo?> DeleteAsync(string name, string? actor = null, CancellationToken cancellationToken = default)
    {
        if (!_services.TryRemove(name, out var state)) return null;
        state.Deleted = true;
        foreach (var r in state.Replicas)
        {
            state.Remove(r);
            await CancelQuietlyAsync(r, actor ?? "services", cancellationToken).ConfigureAwait(false);
        }
        ServiceLog.Deleted(_logger, name, actor ?? "services");
        return state.Snapshot();
    }

    /// <summary>
    /// A healthy replica of <paramref name="name"/> for one request, chosen by the service's balancing policy, with the
    /// request counted for autoscaling; null when the service is unknown or has no healthy replica. Dispose the lease
    /// when the request is done.
    /// </summary>
    public ServiceLease? Acquire(string name)
    {
        if (!_services.TryGetValue(name, out var state)) return null;
        state.Rate.Record();   // a request the service could not serve still asks for capacity
        ServiceTelemetry.Request(name);
        return state.Balancer.Pick(state.Replicas) is { } slot ? new ServiceLease(slot) : null;
    }

    /// <summary>
    /// One pass: replicas whose job ended are replaced, due health checks run, unhealthy replicas are replaced, and each
    /// service is scaled to what its request rate needs.
    /// </summary>
    public async Task CheckAsync(CancellationToken cancellationToken = default)
    {
        await _checking.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var state in _services.Values.ToList())
                await CheckOneAsync(state, cancellationToken).ConfigureAwait(false);
        }
        finally { _checking.Release(); }
    }

    /// <summary>Runs <see cref="CheckAsync"/> every <see cref="ServiceManagerOptions.PollInterval"/> (on the injected clock) until cancelled.</summary>
    public Task RunAsync(CancellationToken cancellationToken) =>
        Polling.RunAsync(CheckAsync, _options.PollInterval, _time, ex => ServiceLog.CheckFailed(_logger, ex), cancellationToken);

    private async Task CheckOneAsync(ServiceState state, CancellationToken ct)
    {
        var spec = state.Spec;
        foreach (var r in state.Replicas)
        {
            var job = await _grid.GetJobAsync(r.JobId, ct).ConfigureAwait(false);
            if (job is null || job.State.IsTerminal())
            {
                Replace(state, r, job is null ? "job not found" : $"job {job.State}");
                continue;
            }
            if (job.State != JobState.Running) continue;   // queued or awaiting approval
            var now = _time.GetUtcNow();
            r.RunningSince ??= now;
            if (now < r.NextProbeAt) continue;
            r.NextProbeAt = now + spec.HealthInterval;
            if (await _probe.CheckAsync(r.Upstream, spec.HealthPath, spec.HealthTimeout, ct).ConfigureAwait(false))
            {
                r.Failures = 0;
                r.State = ReplicaState.Healthy;
                continue;
            }
            if (r.State == ReplicaState.Starting && _time.GetUtcNow() - r.RunningSince < _options.StartGrace) continue;   // still starting up
            r.Failures++;
            if (r.State == ReplicaState.Healthy) r.State = ReplicaState.Unhealthy;
            if (r.Failures >= spec.UnhealthyAfter)
            {
                Replace(state, r, $"{r.Failures} failed health checks");
                await CancelQuietlyAsync(r, "services", ct).ConfigureAwait(false);
            }
        }

        // Scale by the proxy's window average, then bring the replicas to that count.
        var at = _time.GetUtcNow();
        double rate = state.Rate.PerSecond();
        int desired = ServiceScaler.Decide(spec, state.Desired, rate, at, state.LastScaleAt, _options.ScaleDownCoolDown);
        if (desired != state.Desired)
        {
            ServiceLog.Scaled(_logger, spec.Name, state.Desired, desired, rate);
            state.Desired = desired;
            state.LastScaleAt = at;
        }
        var live = state.Replicas;
        for (int i = live.Length; i < state.Desired && !state.Deleted; i++)
        {
            try { await StartReplicaAsync(state, ct).ConfigureAwait(false); }
            catch (CompGridException ex) { ServiceLog.SubmitFailed(_logger, spec.Name, ex); break; }
        }
        // Fewer: stop those not serving first (starting, unhealthy), then the newest.
        foreach (var r in live.OrderBy(r => r.State == ReplicaState.Healthy).ThenByDescending(r => r.Id).Take(Math.Max(0, live.Length - state.Desired)))
        {
            state.Remove(r);
            await CancelQuietlyAsync(r, "services", ct).ConfigureAwait(false);
        }
    }

    private void Replace(ServiceState state, ReplicaSlot r, string reason)
    {
        state.Remove(r);
        lock (state.Lock) state.Restarts++;
        ServiceLog.ReplicaReplaced(_logger, state.Spec.Name, r.Id, r.JobId, reason);
    }

    private async Task StartReplicaAsync(ServiceState state, CancellationToken ct)
    {
        int id;
        lock (state.Lock) id = state.NextReplicaId++;
        int port = Polling.FreeLoopbackPort();
        var handle = await _grid.SubmitAsync(ServiceJob.Spec(state.Spec, _options, id, port), ct).ConfigureAwait(false);
        state.Add(new ReplicaSlot(id, handle.Id, port, _time.GetUtcNow()));
        ServiceLog.ReplicaStarted(_logger, state.Spec.Name, id, handle.Id, port);
    }

    private async Task CancelQuietlyAsync(ReplicaSlot r, string actor, CancellationToken ct)
    {
        try { await _grid.CancelAsync(r.JobId, actor, ct).ConfigureAwait(false); }
        catch (JobNotFoundException) { }   // already gone
    }


    /// <inheritdoc/>
    public void Dispose()
    {
        ServiceTelemetry.Unregister(this);
        _http.Dispose();
        _checking.Dispose();
    }
}

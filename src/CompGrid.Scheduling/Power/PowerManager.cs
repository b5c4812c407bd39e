using System.Collections.Concurrent;
using CompGrid.Scheduling.Availability;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CompGrid.Scheduling.Power;

/// <summary>
/// Elastic power for nodes that can be switched off (VMs, lab machines), with Slurm's power-saving semantics: a queued
/// job that no up node can take makes the manager start a powered-off node that can (at most
/// <see cref="PowerManagerOptions.ResumeRate"/> per minute); a node that does not come up within
/// <see cref="PowerManagerOptions.ResumeTimeout"/> is marked down and not tried again until
/// <see cref="ReturnToService"/>; an up node that ran no job for <see cref="PowerManagerOptions.IdleTime"/> is stopped (at
/// most <see cref="PowerManagerOptions.SuspendRate"/> per minute), unless it is excluded
/// (<see cref="PowerManagerOptions.SuspendExcludedNodes"/>, <see cref="PowerManagerOptions.SuspendExcludedPartitions"/>).
/// With availability windows, a node is started only when its window is open for the job's whole walltime, and an up
/// node whose window closed is stopped once it runs nothing, without waiting for the idle time. The engine places the
/// job once its node is up; the manager only powers nodes, it never places.
/// </summary>
public sealed class PowerManager
{
    private readonly ICompGridClient _grid;
    private readonly IReadOnlyList<INodeProvider> _providers;
    private readonly PowerManagerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Task> _inFlight = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _down = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _idleSince = new(StringComparer.Ordinal);
    private readonly Queue<DateTimeOffset> _resumes = new();
    private readonly Queue<DateTimeOffset> _suspends = new();
    private readonly SemaphoreSlim _pass = new(1, 1);
    private readonly AvailabilitySchedule? _windows;
    private readonly Func<JobSpec, TimeSpan> _walltime;
    private readonly HashSet<string> _noSuspend;

    private PowerManager(ICompGridClient grid, IReadOnlyList<INodeProvider> providers, PowerManagerOptions options, TimeProvider time, ILogger logger, AvailabilitySchedule? windows)
    {
        _windows = windows;
        // The engine's walltime default decides whether a job fits a window; another client's jobs carry their own.
        _walltime = grid is CompGridEngine engine ? engine.WalltimeOf : spec => spec.Walltime ?? TimeSpan.FromHours(1);
        _noSuspend = new HashSet<string>(options.SuspendExcludedNodes, StringComparer.Ordinal);
        _grid = grid;
        _providers = providers;
        _options = options;
        _time = time;
        _logger = logger;
    }

    /// <summary>Creates a power manager over the engine (or any <see cref="ICompGridClient"/>) and the node providers.</summary>
    /// <param name="grid">Where queued and running jobs are read from.</param>
    /// <param name="providers">The providers whose nodes may be started and stopped.</param>
    /// <param name="options">The options; validated here by the same validator DI uses.</param>
    /// <param name="loggerFactory">Logging, or null for none.</param>
    /// <param name="timeProvider">The clock (idle time, rate limits, resume timeout), or null for <see cref="TimeProvider.System"/>.</param>
    /// <param name="availability">The nodes' availability windows, or null when nodes are always available.</param>
    /// <exception cref="ArgumentException">The options are invalid; the message names each option and rule.</exception>
    public static PowerManager Create(ICompGridClient grid, IEnumerable<INodeProvider> providers, PowerManagerOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null,
        AvailabilitySchedule? availability = null)
    {
        ArgumentNullException.ThrowIfNull(grid);
        ArgumentNullException.ThrowIfNull(providers);
        ArgumentNullException.ThrowIfNull(options);
        var errors = PowerManagerOptionsValidator.Errors(options);
        if (errors.Count > 0) throw new ArgumentException(string.Join(" ", errors), nameof(options));
        return new PowerManager(grid, [.. providers], options, timeProvider ?? TimeProvider.System,
            (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("CompGrid.Power"), availability);
    }

    /// <summary>Nodes (backend/node) that failed to resume, with the reason; they are not started again until returned to service.</summary>
    public IReadOnlyDictionary<string, string> DownNodes => new Dictionary<string, string>(_down, StringComparer.Ordinal);

    /// <summary>Lets the manager start a node again after it failed to resume (an administrator fixed it).</summary>
    public bool ReturnToService(string backend, string node) => _down.TryRemove(Key(backend, node), out _);

    /// <summary>Waits until the starts and stops begun by earlier passes have finished (for tests and orderly shutdown).</summary>
    public Task WhenSettledAsync() => Task.WhenAll(_inFlight.Values);

    /// <summary>Runs passes every <see cref="PowerManagerOptions.Interval"/> until cancelled; a failed pass is logged and the next one runs.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try { await RunOnceAsync(cancellationToken).ConfigureAwait(false); }
            catch (CompGridException ex) { Log.PassFailed(_logger, ex.Message); }
            try { await Task.Delay(_options.Interval, _time, cancellationToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
        }
    }

    /// <summary>
    /// One pass: reads the queue and the nodes, begins the starts queued jobs need and the stops idle nodes allow, and
    /// returns what it began. Starts and stops run in the background (see <see cref="WhenSettledAsync"/>).
    /// </summary>
    public async Task<PowerActions> RunOnceAsync(CancellationToken cancellationToken = default)
    {
        await _pass.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = _time.GetUtcNow();
            var queued = new List<JobRecord>();
            var busy = new HashSet<string>(StringComparer.Ordinal);
            // What running jobs hold per node, from the engine's records: a backend's Free may lag or ignore its jobs.
            var used = new Dictionary<string, NodeResources>(StringComparer.Ordinal);
            await foreach (var job in _grid.ListJobsAsync(new JobQuery { States = [JobState.Queued, JobState.Running], Limit = int.MaxValue }, cancellationToken).ConfigureAwait(false))
            {
                if (job.State == JobState.Queued) queued.Add(job);
                else if (job.Backend is not null)
                {
                    var r = job.Spec.Resources;
                    foreach (var n in job.Nodes)
                    {
                        string key = Key(job.Backend, n);
                        busy.Add(key);
                        used[key] = used.GetValueOrDefault(key) + new NodeResources(r.Cpus, r.MemoryMiB, r.Gpus);
                    }
                }
            }
            queued.Sort((a, b) => a.SubmittedAt.CompareTo(b.SubmittedAt));

            var nodes = new List<(INodeProvider Provider, NodeInfo Node)>();
            foreach (var provider in _providers)
                foreach (var node in await provider.GetNodesAsync(cancellationToken).ConfigureAwait(false))
                    nodes.Add((provider, node));

            NodeResources FreeOf(NodeInfo n)
            {
                var left = n.Capacity - used.GetValueOrDefault(Key(n));
                return new NodeResources(Math.Min(left.Cpus, n.Free.Cpus), Math.Min(left.MemoryMiB, n.Free.MemoryMiB), Math.Min(left.Gpus, n.Free.Gpus));
            }

            var starting = new List<string>();
            var stopping = new List<string>();
            var deferred = new List<string>();

            // Resume: each queued job first claims a free up node (or one already starting); only a job left without one
            // makes a powered-off node start.
            var claimed = new HashSet<string>(StringComparer.Ordinal);
            foreach (var job in queued)
            {
                var r = job.Spec.Resources;
                var need = new NodeResources(r.Cpus, r.MemoryMiB, r.Gpus);
                var end = now + _walltime(job.Spec);
                // A node whose window is closed, or closes before the job would end, cannot take the job: never start it for it.
                bool Fits(NodeInfo n, NodeResources capacity) => Matches(job.Spec, n) && capacity.Covers(need)
                    && (_windows?.UsableUntil(n.Backend, n.Name, now) is not { } until || end <= until);
                var ready = nodes.FirstOrDefault(x => !claimed.Contains(Key(x.Node)) && Fits(x.Node, x.Node.Capacity)
                    && ((x.Node.State == NodeState.Up && FreeOf(x.Node).Covers(need)) || _inFlight.ContainsKey(Key(x.Node))));
                if (ready.Node is not null) { claimed.Add(Key(ready.Node)); continue; }
                var off = nodes.FirstOrDefault(x => x.Node.State == NodeState.PoweredOff && !claimed.Contains(Key(x.Node))
                    && !_down.ContainsKey(Key(x.Node)) && !_inFlight.ContainsKey(Key(x.Node)) && Fits(x.Node, x.Node.Capacity));
                if (off.Node is null) continue;
                claimed.Add(Key(off.Node));
                if (!TryTake(_resumes, _options.ResumeRate, now)) { deferred.Add(Key(off.Node)); continue; }
                Log.Starting(_logger, Key(off.Node), job.Id);
                starting.Add(Key(off.Node));
                Begin(Key(off.Node), () => StartAsync(off.Provider, off.Node.Name));
            }

            // Suspend: an up node that ran nothing for IdleTime and that no queued job claimed.
            foreach (var (provider, node) in nodes)
            {
                string key = Key(node);
                if (node.State != NodeState.Up || busy.Contains(key) || claimed.Contains(key) || _inFlight.ContainsKey(key))
                {
                    _idleSince.Remove(key);
                    continue;
                }
                if (Excluded(node)) continue;
                bool closed = _windows is not null && !_windows.IsOpen(node.Backend, node.Name, now);
                if (!_idleSince.TryGetValue(key, out var since)) { _idleSince[key] = since = now; if (!closed) continue; }
                if (!closed && now - since < _options.IdleTime) continue;
                if (!TryTake(_suspends, _options.SuspendRate, now)) { deferred.Add(key); continue; }
                if (closed) Log.StoppingClosed(_logger, key);
                else Log.Stopping(_logger, key, since);
                _idleSince.Remove(key);
                stopping.Add(key);
                Begin(key, () => StopAsync(provider, node.Name));
            }
            return new PowerActions { Starting = starting, Stopping = stopping, Deferred = deferred };
        }
        finally
        {
            _pass.Release();
        }
    }

    private void Begin(string key, Func<Task> action)
    {
        var task = Task.Run(action);
        _inFlight[key] = task;
        _ = task.ContinueWith(_ => _inFlight.TryRemove(new KeyValuePair<string, Task>(key, task)), TaskScheduler.Default);
    }

    private async Task StartAsync(INodeProvider provider, string node)
    {
        using var timeout = new CancellationTokenSource(_options.ResumeTimeout, _time);
        try
        {
            await provider.StartNodeAsync(node, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is CompGridException or OperationCanceledException)
        {
            string reason = ex is OperationCanceledException ? $"not up within ResumeTimeout {_options.ResumeTimeout}" : ex.Message;
            _down[Key(provider.Backend, node)] = reason;
            Log.ResumeFailed(_logger, Key(provider.Backend, node), reason);
        }
    }

    private async Task StopAsync(INodeProvider provider, string node)
    {
        using var timeout = new CancellationTokenSource(_options.SuspendTimeout, _time);
        try
        {
            await provider.StopNodeAsync(node, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is CompGridException or OperationCanceledException)
        {
            Log.SuspendFailed(_logger, Key(provider.Backend, node), ex.Message);
        }
    }

    // A sliding one-minute window: Slurm's rates are nodes per minute.
    private static bool TryTake(Queue<DateTimeOffset> window, int perMinute, DateTimeOffset now)
    {
        if (perMinute == 0) return true;
        while (window.Count > 0 && now - window.Peek() >= TimeSpan.FromMinutes(1)) window.Dequeue();
        if (window.Count >= perMinute) return false;
        window.Enqueue(now);
        return true;
    }

    // Slurm's SuspendExcNodes and SuspendExcParts: nodes that are started when needed but never stopped.
    private bool Excluded(NodeInfo node) =>
        _noSuspend.Contains(Key(node)) || node.Partitions.Any(p => _options.SuspendExcludedPartitions.Contains(p, StringComparer.Ordinal));

    private static bool Matches(JobSpec spec, NodeInfo node)
    {
        var c = spec.Constraints;
        if (c.Backend is not null && c.Backend != node.Backend) return false;
        if (c.Partition is not null && !node.Partitions.Contains(c.Partition)) return false;
        if (c.RequiredFeatures.Any(f => !node.Features.Contains(f))) return false;
        if (c.ForbiddenFeatures.Any(node.Features.Contains)) return false;
        return spec.Resources.GpuModel is null || spec.Resources.GpuModel == node.GpuModel;
    }

    private static string Key(NodeInfo node) => Key(node.Backend, node.Name);

    private static string Key(string backend, string node) => backend + "/" + node;
}

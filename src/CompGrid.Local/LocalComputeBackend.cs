using System.Runtime.CompilerServices;
using System.Runtime.Versioning;
using System.Text;
using System.Threading.Channels;
using CompGrid.Local.Cgroups;
using CompGrid.Local.Diagnostics;
using CompGrid.Local.Processes;
using CompGrid.Local.Sandbox;
using CompGrid.Local.Supervision;
using Microsoft.Extensions.Logging;

namespace CompGrid.Local;

/// <summary>
/// Runs jobs as processes on this machine, each as an unprivileged account, in cgroups of its own where the machine
/// allows, with the supervisor's records kept where the job cannot write (see <see cref="LocalLayout"/>).
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class LocalComputeBackend : IComputeBackend, IBackendEventSource, IDisposable
{
    private readonly LocalBackendOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly LocalLayout _layout;
    private readonly SupervisorStore _store;
    private readonly JobIdentities _identities;
    private readonly JobLauncher _launcher;
    private readonly JobSupervisor _supervisor;
    private readonly List<LocalNodeOptions> _nodes;
    private readonly Channel<BackendJobStatus> _events = Channel.CreateUnbounded<BackendJobStatus>();
    private readonly object _submitGate = new();

    internal LocalComputeBackend(string name, LocalBackendOptions options, TimeProvider time, ILogger logger)
    {
        Name = name;
        _options = options;
        _logger = logger;
        _time = time;
        _identities = new JobIdentities(name, options);
        if (!_identities.SwitchesUser) Log.NoUserSwitch(logger, name);
        _layout = new LocalLayout(options.StateDirectory, sharedWithJobs: _identities.SwitchesUser);
        _store = new SupervisorStore(_layout, time);
        _launcher = new JobLauncher(name, options);
        var cgroups = CgroupDrivers.Choose(name, options, out var problems);
        if (cgroups is null) Log.NoCgroups(logger, name, string.Join("; ", problems));
        else
        {
            Log.CgroupsInUse(logger, name, cgroups.Description);
            if (problems.Count > 0) Log.SomeControllersMissing(logger, name, string.Join("; ", problems));
        }
        _nodes = options.Nodes.Count > 0 ? options.Nodes.ToList() : [new LocalNodeOptions { Name = "local" }];
        _supervisor = new JobSupervisor(name, options, _store, cgroups, _identities, time, logger, s => _events.Writer.TryWrite(s));
        _supervisor.Reconcile();
    }

    public string Name { get; }

    public BackendCapabilities Capabilities { get; } = new()
    {
        PlacesJobsItself = false, Containers = false, Gpus = false, MultiNode = false, LogStreaming = true, PushesEvents = true,
        Payloads = [PayloadKind.CommandLine, PayloadKind.Script, PayloadKind.Executable],
    };

    /// <summary>The supervisor (tests drive its callbacks directly).</summary>
    internal JobSupervisor Supervisor => _supervisor;

    /// <summary>Whether jobs get cgroups of their own (false: the rlimit fallback).</summary>
    internal bool UsesCgroups => _supervisor.Cgroups is not null;

    public Task<string> SubmitAsync(BackendJobRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        string id = request.JobId;
        if (!SupervisorStore.SafeId().IsMatch(id)) throw Error($"Job id '{id}' is not a safe directory name.", id);
        var spec = request.Spec;
        if (spec.Payload is null || !Capabilities.Payloads.Contains(spec.Payload.Kind))
            throw Error($"The local backend does not run {spec.Payload?.Kind.ToString() ?? "empty"} payloads.", id);
        if (spec.Resources.Gpus > 0) throw Error("The local backend has no GPUs.", id);
        var account = _identities.For(spec.Owner, id);

        string supervisorDir = _store.Dir(id);
        lock (_submitGate)
        {
            if (Directory.Exists(supervisorDir))
            {
                // A live or uncompleted run keeps its id (never two runs under one record); the engine tries again.
                if (!_store.Has(id, "completed"))
                    throw new CompGridException($"Job '{id}' already has a run on backend '{Name}' that has not been completed; it can run again once that run has ended and been completed.") { Backend = Name, Operation = "submit", JobId = id, IsTransient = true };
                // A requeued job (an availability window closed on it): its earlier run ended, was completed and is
                // not charged, so its records make way for the new run's.
                _supervisor.ClearCompletedRun(id);
            }
            Directory.CreateDirectory(supervisorDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        IJobCgroup? cgroup = null;
        try
        {
            string work = _layout.CreateJobDirectory(id, account?.Uid, account?.Gid);
            if (spec.WorkingDirectory is { } wd)
            {
                // A directory the spec names is the user's own: never created or chowned as root for them.
                if (account is null) Directory.CreateDirectory(wd);
                else if (!Directory.Exists(wd)) throw Error($"workingDirectory: '{wd}' does not exist; with a run-as account it must exist and be usable by {account.Name}.", id);
                work = wd;
            }
            _launcher.StageIn(spec, work, account, id);
            var argv = _launcher.Argv(spec.Payload, _layout.JobDir(id), account);
            try { cgroup = _supervisor.Cgroups?.Create(id, new CgroupLimits(spec.Resources.Cpus, request.MemoryMiBPerNode, _options.MaxProcesses)); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new CompGridException($"Could not create the cgroup of job '{id}': {ex.Message}", ex) { Backend = Name, Operation = "submit", JobId = id, IsTransient = true };
            }
            var launched = _launcher.Start(id, supervisorDir, work, argv, _launcher.Environment(request, account, work), account, cgroup, request.MemoryMiBPerNode);
            var record = new LocalJobRecord
            {
                JobId = id, Name = spec.Name, Owner = spec.Owner, Account = spec.Account, Pid = launched.Pid, StartTime = launched.StartTime,
                StartedAt = TimeNow(), Walltime = request.Walltime, Nodes = request.Nodes.Count > 0 ? request.Nodes.ToList() : [_nodes[0].Name],
                Cpus = spec.Resources.Cpus, MemoryMiB = request.MemoryMiBPerNode, WorkDirectory = work, OwnWorkDirectory = spec.WorkingDirectory is null,
                Outputs = spec.Outputs.ToList(), OutputDirectory = spec.OutputDirectory, Partition = spec.Constraints.Partition, Qos = spec.Qos,
                RunAs = account?.Name, RunAsUid = account?.Uid, RunAsPerJob = account?.PerJob == true, InCgroup = cgroup is not null,
            };
            _store.Write(record);
            _supervisor.Track(record, launched.Process);
            Log.Started(_logger, id, launched.Pid, string.Join(",", record.Nodes), account?.Name ?? Environment.UserName);
            return Task.FromResult(id);
        }
        catch (Exception ex)
        {
            if (cgroup is not null) { cgroup.KillAll(); cgroup.TryRemove(); }
            if (account?.PerJob == true) _identities.Release(account.Uid, id);
            TryDelete(_layout.JobDir(id));
            TryDelete(supervisorDir);
            if (ex is CompGridException) throw;
            throw new CompGridException($"Could not start job '{id}': {ex.Message}", ex) { Backend = Name, Operation = "submit", JobId = id };
        }
    }

    public Task<BackendJobStatus?> GetStatusAsync(string backendJobId, CancellationToken cancellationToken = default) =>
        Task.FromResult(_supervisor.Status(backendJobId));

    public Task CancelAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        var record = _store.Read(backendJobId) ?? throw new JobNotFoundException(backendJobId);
        if (_supervisor.Status(backendJobId) is { } s && s.State.IsTerminal()) return Task.CompletedTask;
        _supervisor.Cancel(record);
        return Task.CompletedTask;
    }

    /// <summary>Signals every process of a running job (the agent suspends and resumes jobs with SIGSTOP/SIGCONT); false when it has ended or is unknown.</summary>
    internal bool Signal(string backendJobId, int signal) => _store.Read(backendJobId) is { } record && _supervisor.Signal(record, signal);

    public async IAsyncEnumerable<BackendJobStatus> ListJobsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (string id in _store.Ids())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_store.Has(id, "completed")) continue;
            if (_supervisor.Status(id) is { } s) yield return s;
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    public async Task<JobLogs> GetLogsAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        if (_store.Read(backendJobId) is null) throw new JobNotFoundException(backendJobId);
        var (o, ot) = await ReadTailAsync(_store.File(backendJobId, SupervisorStore.Stdout), cancellationToken).ConfigureAwait(false);
        var (e, et) = await ReadTailAsync(_store.File(backendJobId, SupervisorStore.Stderr), cancellationToken).ConfigureAwait(false);
        return new JobLogs { StandardOutput = o, StandardError = e, Truncated = ot || et };
    }

    public Task<IReadOnlyList<NodeInfo>> GetNodesAsync(CancellationToken cancellationToken = default)
    {
        var used = new Dictionary<string, (int Cpus, long Mem)>(StringComparer.Ordinal);
        foreach (var r in _supervisor.Running)
            foreach (string n in r.Nodes)
            {
                used.TryGetValue(n, out var u);
                used[n] = (u.Cpus + r.Cpus, u.Mem + r.MemoryMiB);
            }
        IReadOnlyList<NodeInfo> nodes = _nodes.Select(n =>
        {
            used.TryGetValue(n.Name, out var u);
            return new NodeInfo
            {
                Name = n.Name, Backend = Name, Capacity = new NodeResources(n.Cpus, n.MemoryMiB, 0),
                Free = new NodeResources(Math.Max(0, n.Cpus - u.Cpus), Math.Max(0, n.MemoryMiB - u.Mem), 0),
                Features = n.Features.ToList(), Partitions = n.Partitions.ToList(), State = NodeState.Up, NativeState = "up",
            };
        }).ToList();
        return Task.FromResult(nodes);
    }

    public Task<UsageRecord?> GetUsageAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        var r = _store.Read(backendJobId);
        var status = _supervisor.Status(backendJobId);
        if (r is null || status is null || !status.State.IsTerminal()) return Task.FromResult<UsageRecord?>(null);
        var usage = _store.ReadUsage(backendJobId) ?? new JobUsage();
        var elapsed = (status.EndedAt ?? TimeNow()) - r.StartedAt;
        return Task.FromResult<UsageRecord?>(new UsageRecord
        {
            JobId = r.JobId, Account = r.Account, User = r.Owner, Backend = Name, BackendJobId = r.JobId, Partition = r.Partition, Qos = r.Qos,
            Nodes = r.Nodes, StartedAt = r.StartedAt, EndedAt = status.EndedAt, Elapsed = elapsed < TimeSpan.Zero ? TimeSpan.Zero : elapsed,
            AllocatedCpus = r.Cpus, AllocatedMemoryMiB = r.MemoryMiB, NodeCount = 1, CpuTime = usage.CpuTime ?? TimeSpan.Zero,
            PeakMemoryBytes = usage.PeakMemoryBytes, ExitCode = status.ExitCode, FinalState = status.State,
        });
    }

    public Task CompleteAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        var r = _store.Read(backendJobId);
        if (r is null || _store.Has(backendJobId, "completed")) return Task.CompletedTask;
        string outDir = r.OutputDirectory ?? Path.Combine(_options.OutputDirectory ?? _layout.Outputs, r.JobId);
        var problems = new List<string>();
        foreach (var item in r.Outputs)
        {
            try { Staging.CopyOut(r.WorkDirectory, item.Source, outDir, item.Destination); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CompGridException)
            {
                problems.Add($"{item}: {ex.Message}");
            }
        }
        if (problems.Count > 0) _store.WriteLines(r.JobId, "staging-errors", problems);
        if (r.OwnWorkDirectory) TryDelete(_layout.JobDir(r.JobId));
        _store.Mark(r.JobId, "completed");
        _supervisor.Forget(r.JobId);
        if (_options.RemoveRecordsOnComplete) TryDelete(_layout.SupervisorDir(r.JobId));
        return Task.CompletedTask;
    }

    public IAsyncEnumerable<BackendJobStatus> WatchAsync(CancellationToken cancellationToken = default) => _events.Reader.ReadAllAsync(cancellationToken);

    public void Dispose() => _supervisor.Dispose();

    private DateTimeOffset TimeNow() => _time.GetUtcNow();

    private CompGridException Error(string message, string id) => new(message) { Backend = Name, Operation = "submit", JobId = id };

    private async Task<(string Text, bool Truncated)> ReadTailAsync(string path, CancellationToken ct)
    {
        if (!File.Exists(path)) return ("", false);
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        bool truncated = fs.Length > _options.MaxLogBytes;
        if (truncated) fs.Seek(-_options.MaxLogBytes, SeekOrigin.End);
        using var reader = new StreamReader(fs, Encoding.UTF8);
        return (await reader.ReadToEndAsync(ct).ConfigureAwait(false), truncated);
    }

    private static void TryDelete(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.Versioning;
using CompGrid.Local.Cgroups;
using CompGrid.Local.Diagnostics;
using CompGrid.Local.Processes;
using CompGrid.Local.Sandbox;
using Microsoft.Extensions.Logging;

namespace CompGrid.Local.Supervision;

/// <summary>
/// Watches running jobs: walltime, cancel (SIGTERM, then the whole cgroup or session is killed), the end of a job
/// (its usage measured, every process left in its cgroup killed, the cgroup removed), and the state reported — from
/// the supervisor's own records and wait only.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class JobSupervisor : IDisposable
{
    private readonly string _backend;
    private readonly LocalBackendOptions _options;
    private readonly SupervisorStore _store;
    private readonly ICgroupDriver? _cgroups;
    private readonly JobIdentities _identities;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Action<BackendJobStatus> _publish;
    private readonly ConcurrentDictionary<string, Tracked> _tracked = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _leftoverCgroups = new(StringComparer.Ordinal);
    // Striped, never removed: a late callback of a forgotten run must still serialize with the job's next run.
    private readonly object[] _gates = [.. Enumerable.Range(0, 64).Select(_ => new object())];
    private readonly ITimer _sampler;

    public JobSupervisor(string backend, LocalBackendOptions options, SupervisorStore store, ICgroupDriver? cgroups, JobIdentities identities, TimeProvider time, ILogger logger, Action<BackendJobStatus> publish)
    {
        _backend = backend;
        _options = options;
        _store = store;
        _cgroups = cgroups;
        _identities = identities;
        _time = time;
        _logger = logger;
        _publish = publish;
        _sampler = time.CreateTimer(_ => Guarded("-", Sample), null, options.SampleInterval, options.SampleInterval);
    }

    public ICgroupDriver? Cgroups => _cgroups;

    public IEnumerable<LocalJobRecord> Running => _tracked.Values.Select(t => t.Record);

    /// <summary>Watches a job: its walltime and, when this process started it, its exit.</summary>
    public void Track(LocalJobRecord record, Process? process)
    {
        var t = new Tracked(record);
        if (_tracked.TryGetValue(record.JobId, out var replaced)) replaced.Dispose();
        _tracked[record.JobId] = t;
        if (record.Walltime > TimeSpan.Zero)
        {
            var remaining = record.Walltime - (_time.GetUtcNow() - record.StartedAt);
            t.WalltimeTimer = _time.CreateTimer(_ => Guarded(record.JobId, () => EnforceWalltime(record)), null, remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        }
        if (process is null) return;
        _ = process.WaitForExitAsync().ContinueWith(_ => Guarded(record.JobId, () =>
        {
            int exitCode = process.ExitCode;
            process.Dispose();
            OnExited(record, exitCode);
        }), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>The run's own process exited (our wait saw it): its exit status is recorded and the run settled.</summary>
    internal void OnExited(LocalJobRecord record, int exitCode)
    {
        lock (Gate(record.JobId))
        {
            // A late exit of a requeued job's earlier run: the new run owns the records now.
            if (!IsCurrentRun(record)) return;
            // The exit status of our own child: the one a job cannot forge.
            _store.WriteExitIfMissing(record.JobId, exitCode);
            Settle(record);
        }
        if (Status(record.JobId) is { } s) _publish(s);
    }

    /// <summary>The job's state from the supervisor's records; a job found ended is settled first.</summary>
    public BackendJobStatus? Status(string id)
    {
        var r = _store.Read(id);
        if (r is null) return null;
        var status = new BackendJobStatus { BackendJobId = id, JobId = r.JobId, StartedAt = r.StartedAt, Nodes = r.Nodes };
        bool cancelled = _store.Has(id, "cancelled"), timedOut = _store.Has(id, "timedout");
        if (!_store.Has(id, "ended") && ProcFs.IsAlive(r.Pid, r.StartTime))
        {
            if (r.Walltime > TimeSpan.Zero && _time.GetUtcNow() - r.StartedAt > r.Walltime && !timedOut && !cancelled) EnforceWalltime(r);
            return status with { State = JobState.Running, NativeState = "running" };
        }
        Settle(r);
        int? exit = _store.ReadExit(id);
        var usage = _store.ReadUsage(id);
        status = status with { EndedAt = _store.ReadTime(id, "ended"), ExitCode = exit };
        if (timedOut) return status with { State = JobState.TimedOut, NativeState = "timeout", Reason = $"walltime {r.Walltime} exceeded" };
        if (cancelled) return status with { State = JobState.Cancelled, NativeState = "cancelled", Reason = "cancelled" };
        if (usage?.OutOfMemory == true) return status with { State = JobState.OutOfMemory, NativeState = "oom", Reason = $"memory limit of {r.MemoryMiB} MiB exceeded" };
        if (exit is null) return status with { State = JobState.Failed, NativeState = "lost", Reason = "the job's process ended without reporting an exit status" };
        if (exit == 0) return status with { State = JobState.Completed, NativeState = "exited" };
        return status with
        {
            State = JobState.Failed, NativeState = "exited",
            Signal = exit > 128 ? exit - 128 : null,
            Reason = exit > 128 ? $"killed by signal {exit - 128}" : $"exit code {exit}",
        };
    }

    /// <summary>Sends <paramref name="signal"/> to every process of a running job (SIGSTOP/SIGCONT: the agent's desktop policy); false when it has ended.</summary>
    public bool Signal(LocalJobRecord r, int signal)
    {
        if (_store.Has(r.JobId, "ended") || !ProcFs.IsAlive(r.Pid, r.StartTime) || !IsCurrentRun(r)) return false;
        if (r.InCgroup) _cgroups?.Open(r.JobId).Signal(signal);
        ProcFs.SignalSession(r.Pid, signal);
        return true;
    }

    /// <summary>Cancels a running job.</summary>
    public void Cancel(LocalJobRecord r)
    {
        _store.Mark(r.JobId, "cancelled");
        Terminate(r);
    }

    /// <summary>
    /// Removes the records of a job's completed run so that the job can run again (a requeue), serialized with the
    /// old run's late callbacks.
    /// </summary>
    public void ClearCompletedRun(string id)
    {
        lock (Gate(id))
        {
            Forget(id);
            Directory.Delete(_store.Dir(id), recursive: true);
        }
    }

    /// <summary>Stops watching a completed job.</summary>
    public void Forget(string id)
    {
        if (_tracked.TryRemove(id, out var t)) t.Dispose();
    }

    /// <summary>
    /// After a restart: watches jobs still running, settles those that ended while the host was down, and kills and
    /// removes cgroups no running job owns.
    /// </summary>
    public void Reconcile()
    {
        foreach (string id in _store.Ids())
        {
            if (_store.Read(id) is not { } r || _store.Has(id, "ended")) continue;
            if (ProcFs.IsAlive(r.Pid, r.StartTime))
            {
                if (r.RunAsPerJob && r.RunAsUid is { } uid) _identities.Reserve(uid, id);
                Track(r, process: null);
            }
            else { Settle(r); Log.SettledLeftover(_logger, _backend, id); }
        }
        if (_cgroups is null) return;
        foreach (string id in _cgroups.ListJobs())
        {
            if (_tracked.ContainsKey(id)) continue;
            if (_store.Read(id) is { } r && !_store.Has(id, "ended")) { Settle(r); continue; }
            var cg = _cgroups.Open(id);
            cg.KillAll();
            if (!cg.TryRemove()) _leftoverCgroups[id] = 0;
            Log.RemovedLeftoverCgroup(_logger, _backend, id);
        }
    }

    /// <summary>
    /// Once the job's main process has ended: measures it, kills whatever is left of it (escaped <c>setsid</c> children
    /// included) and removes its cgroup. Idempotent.
    /// </summary>
    public void Settle(LocalJobRecord r)
    {
        lock (Gate(r.JobId))
        {
            if (_store.Has(r.JobId, "ended") || !IsCurrentRun(r)) return;
            JobUsage usage;
            if (r.InCgroup && _cgroups is not null)
            {
                var cg = _cgroups.Open(r.JobId);
                cg.KillAll();
                var u = cg.ReadUsage();
                usage = new JobUsage { CpuTime = u.CpuTime, PeakMemoryBytes = u.PeakMemoryBytes, OutOfMemory = u.OutOfMemory };
                if (!cg.TryRemove()) _leftoverCgroups[r.JobId] = 0;
                if (u.OutOfMemory) Log.OutOfMemory(_logger, r.JobId, r.MemoryMiB);
            }
            else
            {
                ProcFs.SignalSession(r.Pid, ProcFs.SIGKILL);
                _tracked.TryGetValue(r.JobId, out var t);
                var waited = ShellTimes.Read(_store.File(r.JobId, SupervisorStore.Times));
                var sampled = t?.Cpu;
                usage = new JobUsage { CpuTime = waited is null || sampled > waited ? sampled : waited, PeakMemoryBytes = t?.PeakBytes > 0 ? t.PeakBytes : null };
            }
            KillUid(r);
            if (r.RunAsPerJob && r.RunAsUid is { } uid) _identities.Release(uid, r.JobId);
            _store.WriteUsage(r.JobId, usage);
            _store.Mark(r.JobId, "ended");
            if (_tracked.TryGetValue(r.JobId, out var tracked)) tracked.StopTimers();
        }
    }

    private void EnforceWalltime(LocalJobRecord r)
    {
        if (_store.Has(r.JobId, "ended") || !ProcFs.IsAlive(r.Pid, r.StartTime) || !IsCurrentRun(r)) return;
        _store.Mark(r.JobId, "timedout");
        Log.TimedOut(_logger, r.JobId, r.Walltime);
        Terminate(r);
    }

    // SIGTERM to every process of the job, then SIGKILL to all of them after the grace period.
    private void Terminate(LocalJobRecord r)
    {
        var cg = r.InCgroup ? _cgroups?.Open(r.JobId) : null;
        if (!ProcFs.IsAlive(r.Pid, r.StartTime) || _options.KillGracePeriod == TimeSpan.Zero || !_tracked.TryGetValue(r.JobId, out var t))
        {
            Kill(r, cg);
            return;
        }
        cg?.Signal(ProcFs.SIGTERM);
        ProcFs.SignalSession(r.Pid, ProcFs.SIGTERM);
        t.KillTimer?.Dispose();
        t.KillTimer = _time.CreateTimer(_ => Guarded(r.JobId, () => Kill(r, cg)), null, _options.KillGracePeriod, Timeout.InfiniteTimeSpan);
    }

    private void Kill(LocalJobRecord r, IJobCgroup? cg)
    {
        if (!IsCurrentRun(r)) return;
        cg?.KillAll();
        ProcFs.SignalSession(r.Pid, ProcFs.SIGKILL);
        KillUid(r);
    }

    private object Gate(string jobId) => _gates[(int)((uint)StringComparer.Ordinal.GetHashCode(jobId) % (uint)_gates.Length)];

    // Records are kept per job id, and a requeued job runs again under the same id: a timer or exit callback of an
    // earlier run must not kill, mark or measure the run that replaced it. A run is its process (pid and start time).
    private bool IsCurrentRun(LocalJobRecord r) =>
        _store.Read(r.JobId) is { } current && current.Pid == r.Pid && current.StartTime == r.StartTime;

    // Timer and exit callbacks run on the thread pool: a file that vanished under them is logged, never a crash.
    private void Guarded(string jobId, Action action)
    {
        try { action(); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Text.Json.JsonException or InvalidOperationException)
        {
            Log.CleanupProblem(_logger, jobId, ex.Message);
        }
    }

    // A uid leased to one job names all of its processes, even those that left its session (the fallback's blind spot).
    private static void KillUid(LocalJobRecord r)
    {
        if (!r.RunAsPerJob || r.RunAsUid is not { } uid || uid == 0) return;
        for (int pass = 0; pass < 16; pass++)
        {
            var pids = ProcFs.OwnedBy(uid);
            if (pids.Count == 0) return;
            foreach (int pid in pids) _ = Libc.Kill(pid, ProcFs.SIGKILL);
        }
    }

    // Without cgroups: samples CPU and resident memory of each job's session. With them: retries leftover cgroups.
    private void Sample()
    {
        foreach (var t in _tracked.Values)
        {
            if (t.Record.InCgroup) continue;
            try
            {
                var procs = ProcFs.Session(t.Record.Pid);
                if (procs.Count == 0) continue;
                t.PeakBytes = Math.Max(t.PeakBytes, procs.Sum(p => p.RssBytes));
                var cpu = TimeSpan.FromTicks(procs.Sum(p => p.CpuTime.Ticks));
                if (cpu > t.Cpu) t.Cpu = cpu;
            }
            catch (IOException) { }
        }
        if (_cgroups is null) return;
        foreach (string id in _leftoverCgroups.Keys)
        {
            var cg = _cgroups.Open(id);
            cg.KillAll();
            if (cg.TryRemove()) _leftoverCgroups.TryRemove(id, out _);
        }
    }

    public void Dispose()
    {
        _sampler.Dispose();
        foreach (var t in _tracked.Values) t.Dispose();
        _cgroups?.TryRemoveIfEmpty(); // only succeeds when no job cgroup is left in it
    }

    private sealed class Tracked(LocalJobRecord record) : IDisposable
    {
        public LocalJobRecord Record { get; } = record;
        public ITimer? WalltimeTimer { get; set; }
        public ITimer? KillTimer { get; set; }
        public long PeakBytes { get; set; }
        public TimeSpan Cpu { get; set; }

        public void StopTimers()
        {
            WalltimeTimer?.Dispose();
            KillTimer?.Dispose();
        }

        public void Dispose() => StopTimers();
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading.Channels;
using CompGrid.Local.Processes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CompGrid.Local;

/// <summary>
/// Runs jobs as processes on this machine. Each job gets a directory under <see cref="LocalBackendOptions.StateDirectory"/>
/// holding its metadata, captured output, markers and (unless the spec names one) its working directory. The job runs
/// in a session of its own under a small <c>/bin/sh</c> wrapper that records the exit status and the CPU times, so
/// that the job survives an engine restart and is found again by its directory.
/// </summary>
internal sealed partial class LocalBackend : IComputeBackend, IBackendEventSource, IDisposable
{
    // The wrapper: the job's argv arrives as positional parameters, never as shell text.
    private const string Wrapper = """
        d="$1"; w="$2"; shift 2
        exec </dev/null >>"$d/wrapper.log" 2>&1
        cd "$w" || { echo 126 >"$d/exit.tmp"; mv "$d/exit.tmp" "$d/exit"; exit 126; }
        "$@" >"$d/stdout" 2>"$d/stderr"
        rc=$?
        times >"$d/times"
        echo "$rc" >"$d/exit.tmp" && mv "$d/exit.tmp" "$d/exit"
        """;

    private readonly LocalBackendOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _jobsRoot;
    private readonly List<LocalNodeOptions> _nodes;
    private readonly ConcurrentDictionary<string, Tracked> _tracked = new(StringComparer.Ordinal);
    private readonly Channel<BackendJobStatus> _events = Channel.CreateUnbounded<BackendJobStatus>();
    private readonly ITimer _sampler;
    private readonly object _submitGate = new();

    public LocalBackend(string name, LocalBackendOptions options, TimeProvider? timeProvider = null, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0) throw new CompGridException($"Invalid local backend '{name}' options: {string.Join(" ", errors)}") { Backend = name, Operation = "configure" };
        Name = name;
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _jobsRoot = Path.Combine(Path.GetFullPath(options.StateDirectory), "jobs");
        Directory.CreateDirectory(_jobsRoot);
        _nodes = options.Nodes.Count > 0 ? options.Nodes.ToList() : [new LocalNodeOptions { Name = "local" }];
        _sampler = _time.CreateTimer(_ => Sample(), null, options.SampleInterval, options.SampleInterval);
        // Jobs left running by a previous engine process: watch their walltime again.
        foreach (var dir in Directory.EnumerateDirectories(_jobsRoot))
            if (ReadMeta(Path.GetFileName(dir)) is { } meta && !File.Exists(Path.Combine(dir, "exit")) && !File.Exists(Path.Combine(dir, "ended")))
                Track(meta, process: null);
    }

    public string Name { get; }

    public BackendCapabilities Capabilities { get; } = new()
    {
        PlacesJobsItself = false, Containers = false, Gpus = false, MultiNode = false, LogStreaming = true, PushesEvents = true,
        Payloads = [PayloadKind.CommandLine, PayloadKind.Script, PayloadKind.Executable],
    };

    public Task<string> SubmitAsync(BackendJobRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!SafeIdRegex().IsMatch(request.JobId))
            throw new CompGridException($"Job id '{request.JobId}' is not a safe directory name.") { Backend = Name, Operation = "submit", JobId = request.JobId };
        var spec = request.Spec;
        if (spec.Payload is null || !Capabilities.Payloads.Contains(spec.Payload.Kind))
            throw new CompGridException($"The local backend does not run {spec.Payload?.Kind.ToString() ?? "empty"} payloads.") { Backend = Name, Operation = "submit", JobId = request.JobId };
        if (spec.Resources.Gpus > 0)
            throw new CompGridException("The local backend has no GPUs.") { Backend = Name, Operation = "submit", JobId = request.JobId };

        string id = request.JobId;
        string dir = JobDir(id);
        lock (_submitGate)
        {
            if (Directory.Exists(dir))
                throw new CompGridException($"Job '{id}' was already submitted to backend '{Name}'.") { Backend = Name, Operation = "submit", JobId = id };
            Directory.CreateDirectory(dir);
        }
        try
        {
            bool ownWorkDir = spec.WorkingDirectory is null;
            string work = spec.WorkingDirectory ?? Path.Combine(dir, "work");
            Directory.CreateDirectory(work);
            StageInputs(spec, work);
            var argv = BuildArgv(spec.Payload, dir);
            var psi = new ProcessStartInfo("setsid") { UseShellExecute = false, WorkingDirectory = dir };
            foreach (string a in (string[])[_options.Shell, "-c", Wrapper, "compgrid-job", dir, work]) psi.ArgumentList.Add(a);
            foreach (string a in argv) psi.ArgumentList.Add(a);
            // A clean environment: what the options let through, then the job's own, then CompGrid's.
            psi.Environment.Clear();
            foreach (string key in _options.InheritedEnvironment)
                if (Environment.GetEnvironmentVariable(key) is { } v) psi.Environment[key] = v;
            psi.Environment.TryAdd("PATH", "/usr/local/bin:/usr/bin:/bin");
            foreach (var (k, v) in spec.Environment) psi.Environment[k] = v;
            psi.Environment["COMPGRID_JOB_ID"] = id;
            psi.Environment["COMPGRID_JOB_NAME"] = spec.Name;
            psi.Environment["COMPGRID_CPUS"] = spec.Resources.Cpus.ToString(CultureInfo.InvariantCulture);
            psi.Environment["COMPGRID_NODES"] = string.Join(",", request.Nodes);
            psi.Environment["OMP_NUM_THREADS"] = spec.Resources.Cpus.ToString(CultureInfo.InvariantCulture);

            var started = _time.GetUtcNow();
            var process = Process.Start(psi) ?? throw new CompGridException("The job process did not start.") { Backend = Name, Operation = "submit", JobId = id };
            int pid = process.Id;
            var stat = ProcFs.Read(pid);
            var meta = new Meta
            {
                JobId = id, Name = spec.Name, Owner = spec.Owner, Account = spec.Account, Pid = pid, StartTime = stat?.StartTime ?? 0,
                StartedAt = started, Walltime = request.Walltime, Nodes = request.Nodes.Count > 0 ? request.Nodes.ToList() : [_nodes[0].Name],
                Cpus = spec.Resources.Cpus, MemoryMiB = request.MemoryMiBPerNode, WorkDirectory = work, OwnWorkDirectory = ownWorkDir,
                Outputs = spec.Outputs.ToList(), OutputDirectory = spec.OutputDirectory, Partition = spec.Constraints.Partition, Qos = spec.Qos,
            };
            WriteMeta(meta);
            Track(meta, process);
            LogStarted(_logger, id, pid, string.Join(",", meta.Nodes));
            return Task.FromResult(id);
        }
        catch (Exception ex) when (ex is not CompGridException)
        {
            TryDelete(dir);
            throw new CompGridException($"Could not start job '{id}': {ex.Message}", ex) { Backend = Name, Operation = "submit", JobId = id };
        }
        catch
        {
            TryDelete(dir);
            throw;
        }
    }

    public Task<BackendJobStatus?> GetStatusAsync(string backendJobId, CancellationToken cancellationToken = default) =>
        Task.FromResult(Status(backendJobId));

    public Task CancelAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        var meta = ReadMeta(backendJobId) ?? throw new JobNotFoundException(backendJobId) { };
        if (Status(backendJobId) is { } s && s.State.IsTerminal()) return Task.CompletedTask;
        Mark(meta.JobId, "cancelled");
        Terminate(meta);
        return Task.CompletedTask;
    }

    public async IAsyncEnumerable<BackendJobStatus> ListJobsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var dir in Directory.EnumerateDirectories(_jobsRoot))
        {
            cancellationToken.ThrowIfCancellationRequested();
            string id = Path.GetFileName(dir);
            if (File.Exists(Path.Combine(dir, "completed"))) continue;
            if (Status(id) is { } s) yield return s;
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    public async Task<JobLogs> GetLogsAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        if (!SafeIdRegex().IsMatch(backendJobId) || !File.Exists(Path.Combine(JobDir(backendJobId), "meta.json"))) throw new JobNotFoundException(backendJobId);
        var (o, ot) = await ReadTailAsync(Path.Combine(JobDir(backendJobId), "stdout"), cancellationToken).ConfigureAwait(false);
        var (e, et) = await ReadTailAsync(Path.Combine(JobDir(backendJobId), "stderr"), cancellationToken).ConfigureAwait(false);
        return new JobLogs { StandardOutput = o, StandardError = e, Truncated = ot || et };
    }

    public Task<IReadOnlyList<NodeInfo>> GetNodesAsync(CancellationToken cancellationToken = default)
    {
        var used = new Dictionary<string, (int Cpus, long Mem)>(StringComparer.Ordinal);
        foreach (var t in _tracked.Values)
            foreach (string n in t.Meta.Nodes)
            {
                used.TryGetValue(n, out var u);
                used[n] = (u.Cpus + t.Meta.Cpus, u.Mem + t.Meta.MemoryMiB);
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
        var meta = ReadMeta(backendJobId);
        var status = Status(backendJobId);
        if (meta is null || status is null || !status.State.IsTerminal()) return Task.FromResult<UsageRecord?>(null);
        string dir = JobDir(backendJobId);
        var cpu = ReadTimes(Path.Combine(dir, "times"));
        var sampled = ReadSample(dir);
        if (cpu is null || sampled.Cpu > cpu) cpu = sampled.Cpu; // the wrapper was killed before it could report
        var elapsed = (status.EndedAt ?? _time.GetUtcNow()) - meta.StartedAt;
        return Task.FromResult<UsageRecord?>(new UsageRecord
        {
            JobId = meta.JobId, Account = meta.Account, User = meta.Owner, Backend = Name, BackendJobId = meta.JobId, Partition = meta.Partition, Qos = meta.Qos,
            Nodes = meta.Nodes, StartedAt = meta.StartedAt, EndedAt = status.EndedAt, Elapsed = elapsed < TimeSpan.Zero ? TimeSpan.Zero : elapsed,
            AllocatedCpus = meta.Cpus, AllocatedMemoryMiB = meta.MemoryMiB, NodeCount = 1, CpuTime = cpu ?? TimeSpan.Zero,
            PeakMemoryBytes = sampled.PeakBytes > 0 ? sampled.PeakBytes : null, ExitCode = status.ExitCode, FinalState = status.State,
        });
    }

    public Task CompleteAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        var meta = ReadMeta(backendJobId);
        if (meta is null) return Task.CompletedTask;
        string dir = JobDir(backendJobId);
        if (File.Exists(Path.Combine(dir, "completed"))) return Task.CompletedTask;
        string outDir = meta.OutputDirectory ?? Path.Combine(_options.OutputDirectory ?? Path.Combine(Path.GetFullPath(_options.StateDirectory), "outputs"), meta.JobId);
        var problems = new List<string>();
        foreach (var item in meta.Outputs)
        {
            try { Staging.CopyOut(meta.WorkDirectory, item.Source, outDir, item.Destination); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CompGridException)
            {
                problems.Add($"{item}: {ex.Message}");
            }
        }
        if (problems.Count > 0) File.WriteAllLines(Path.Combine(dir, "staging-errors"), problems);
        if (meta.OwnWorkDirectory) TryDelete(meta.WorkDirectory);
        Mark(meta.JobId, "completed");
        if (_tracked.TryRemove(meta.JobId, out var tracked)) tracked.Dispose();
        return Task.CompletedTask;
    }

    public IAsyncEnumerable<BackendJobStatus> WatchAsync(CancellationToken cancellationToken = default) => _events.Reader.ReadAllAsync(cancellationToken);

    public void Dispose()
    {
        _sampler.Dispose();
        foreach (var t in _tracked.Values) t.Dispose();
    }

    // ------------------------------------------------------------------ internals

    private string JobDir(string id) => Path.Combine(_jobsRoot, id);

    private BackendJobStatus? Status(string id)
    {
        if (!SafeIdRegex().IsMatch(id)) return null;
        var meta = ReadMeta(id);
        if (meta is null) return null;
        string dir = JobDir(id);
        bool cancelled = File.Exists(Path.Combine(dir, "cancelled"));
        bool timedOut = File.Exists(Path.Combine(dir, "timedout"));
        int? exit = ReadInt(Path.Combine(dir, "exit"));
        bool alive = ProcFs.IsAlive(meta.Pid, meta.StartTime);
        var status = new BackendJobStatus { BackendJobId = id, JobId = meta.JobId, StartedAt = meta.StartedAt, Nodes = meta.Nodes };
        if (alive && exit is null)
        {
            if (meta.Walltime > TimeSpan.Zero && _time.GetUtcNow() - meta.StartedAt > meta.Walltime && !timedOut && !cancelled) EnforceWalltime(meta);
            return status with { State = JobState.Running, NativeState = "running" };
        }
        var ended = ReadTime(Path.Combine(dir, "ended")) ?? MarkEnded(id);
        // Anything still in the job's session is stopped once its main process is gone (no stray processes).
        if (!alive && ProcFs.Session(meta.Pid).Count > 0) ProcFs.SignalSession(meta.Pid, ProcFs.SIGKILL);
        status = status with { EndedAt = ended, ExitCode = exit };
        if (timedOut) return status with { State = JobState.TimedOut, NativeState = "timeout", Reason = $"walltime {meta.Walltime} exceeded" };
        if (cancelled) return status with { State = JobState.Cancelled, NativeState = "cancelled", Reason = "cancelled" };
        if (exit is null) return status with { State = JobState.Failed, NativeState = "lost", Reason = "the job's process ended without reporting an exit status" };
        if (exit == 0) return status with { State = JobState.Completed, NativeState = "exited" };
        return status with
        {
            State = JobState.Failed, NativeState = "exited",
            Signal = exit > 128 ? exit - 128 : null,
            Reason = exit > 128 ? $"killed by signal {exit - 128}" : $"exit code {exit}",
        };
    }

    private void Track(Meta meta, Process? process)
    {
        var t = new Tracked(meta, process);
        _tracked[meta.JobId] = t;
        var remaining = meta.Walltime - (_time.GetUtcNow() - meta.StartedAt);
        if (meta.Walltime > TimeSpan.Zero)
            t.WalltimeTimer = _time.CreateTimer(_ => EnforceWalltime(meta), null, remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        if (process is not null)
        {
            _ = process.WaitForExitAsync().ContinueWith(_ =>
            {
                MarkEnded(meta.JobId);
                process.Dispose();
                if (Status(meta.JobId) is { } s) _events.Writer.TryWrite(s);
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private void EnforceWalltime(Meta meta)
    {
        if (File.Exists(Path.Combine(JobDir(meta.JobId), "exit")) || !ProcFs.IsAlive(meta.Pid, meta.StartTime)) return;
        Mark(meta.JobId, "timedout");
        LogTimedOut(_logger, meta.JobId, meta.Walltime);
        Terminate(meta);
    }

    // SIGTERM to the whole session, SIGKILL after the grace period.
    private void Terminate(Meta meta)
    {
        if (!ProcFs.IsAlive(meta.Pid, meta.StartTime)) { ProcFs.SignalSession(meta.Pid, ProcFs.SIGKILL); return; }
        ProcFs.SignalSession(meta.Pid, ProcFs.SIGTERM);
        if (_tracked.TryGetValue(meta.JobId, out var t))
        {
            t.KillTimer?.Dispose();
            t.KillTimer = _time.CreateTimer(_ => ProcFs.SignalSession(meta.Pid, ProcFs.SIGKILL), null, _options.KillGracePeriod, Timeout.InfiniteTimeSpan);
        }
        else ProcFs.SignalSession(meta.Pid, ProcFs.SIGKILL);
    }

    // Samples CPU time and resident memory of every running job's session; keeps the peak on disk.
    private void Sample()
    {
        foreach (var t in _tracked.Values)
        {
            try
            {
                var procs = ProcFs.Session(t.Meta.Pid);
                if (procs.Count == 0) continue;
                long rss = procs.Sum(p => p.RssBytes);
                var cpu = TimeSpan.FromTicks(procs.Sum(p => p.CpuTime.Ticks));
                if (rss > t.PeakBytes || cpu > t.Cpu)
                {
                    t.PeakBytes = Math.Max(t.PeakBytes, rss);
                    t.Cpu = cpu > t.Cpu ? cpu : t.Cpu;
                    File.WriteAllText(Path.Combine(JobDir(t.Meta.JobId), "sample"),
                        string.Create(CultureInfo.InvariantCulture, $"{t.PeakBytes} {t.Cpu.Ticks}"));
                }
            }
            catch (IOException) { }
        }
    }

    private (long PeakBytes, TimeSpan? Cpu) ReadSample(string dir)
    {
        try
        {
            var parts = File.ReadAllText(Path.Combine(dir, "sample")).Split(' ');
            return (long.Parse(parts[0], CultureInfo.InvariantCulture), TimeSpan.FromTicks(long.Parse(parts[1], CultureInfo.InvariantCulture)));
        }
        catch (Exception ex) when (ex is IOException or FormatException or IndexOutOfRangeException) { return (0, null); }
    }

    // `times` prints the shell's and then the children's user and system times, like "0m0.120000s 0m0.010000s".
    internal static TimeSpan? ReadTimes(string path)
    {
        try
        {
            var lines = File.ReadAllLines(path);
            if (lines.Length < 2) return null;
            var total = TimeSpan.Zero;
            foreach (string part in lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var m = TimesRegex().Match(part);
                if (!m.Success) return null;
                total += TimeSpan.FromMinutes(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))
                       + TimeSpan.FromSeconds(double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
            }
            return total;
        }
        catch (IOException) { return null; }
    }

    private IReadOnlyList<string> BuildArgv(JobPayload payload, string dir)
    {
        switch (payload.Kind)
        {
            case PayloadKind.CommandLine:
                return [_options.Shell, "-c", payload.CommandLine!];
            case PayloadKind.Script:
                string script = Path.Combine(dir, "script");
                File.WriteAllText(script, payload.Script!);
                if (payload.Interpreter is { } interp) return [interp, script];
                if (payload.Script!.StartsWith("#!", StringComparison.Ordinal) && !OperatingSystem.IsWindows())
                {
                    File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                    return [script];
                }
                return [_options.Shell, script];
            case PayloadKind.Executable:
                return [payload.Executable!, .. payload.Arguments];
            default:
                throw new CompGridException($"The local backend does not run {payload.Kind} payloads.") { Backend = Name, Operation = "submit" };
        }
    }

    private static void StageInputs(JobSpec spec, string work)
    {
        foreach (var item in spec.Inputs)
            Staging.CopyIn(item.Source, work, item.Destination);
    }

    private async Task<(string Text, bool Truncated)> ReadTailAsync(string path, CancellationToken ct)
    {
        if (!File.Exists(path)) return ("", false);
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        bool truncated = fs.Length > _options.MaxLogBytes;
        if (truncated) fs.Seek(-_options.MaxLogBytes, SeekOrigin.End);
        using var reader = new StreamReader(fs, Encoding.UTF8);
        return (await reader.ReadToEndAsync(ct).ConfigureAwait(false), truncated);
    }

    private void Mark(string id, string marker)
    {
        string path = Path.Combine(JobDir(id), marker);
        if (!File.Exists(path)) File.WriteAllText(path, _time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture));
    }

    private DateTimeOffset MarkEnded(string id)
    {
        Mark(id, "ended");
        return ReadTime(Path.Combine(JobDir(id), "ended")) ?? _time.GetUtcNow();
    }

    private static DateTimeOffset? ReadTime(string path)
    {
        try { return DateTimeOffset.Parse(File.ReadAllText(path).Trim(), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind); }
        catch (Exception ex) when (ex is IOException or FormatException) { return null; }
    }

    private static int? ReadInt(string path)
    {
        try { return int.Parse(File.ReadAllText(path).Trim(), CultureInfo.InvariantCulture); }
        catch (Exception ex) when (ex is IOException or FormatException) { return null; }
    }

    private Meta? ReadMeta(string id)
    {
        if (!SafeIdRegex().IsMatch(id)) return null;
        try { return JsonSerializer.Deserialize<Meta>(File.ReadAllText(Path.Combine(JobDir(id), "meta.json")), CompGridJson.Options); }
        catch (Exception ex) when (ex is IOException or JsonException) { return null; }
    }

    private void WriteMeta(Meta meta)
    {
        string path = Path.Combine(JobDir(meta.JobId), "meta.json");
        File.WriteAllText(path + ".tmp", JsonSerializer.Serialize(meta, CompGridJson.Options));
        File.Move(path + ".tmp", path, overwrite: true);
    }

    private static void TryDelete(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex SafeIdRegex();

    [GeneratedRegex(@"^(\d+)m([\d.]+)s$")]
    private static partial Regex TimesRegex();

    [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "Local job {JobId} started as pid {Pid} on {Nodes}")]
    private static partial void LogStarted(ILogger logger, string jobId, int pid, string nodes);

    [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "Local job {JobId} exceeded its walltime {Walltime}; stopping it")]
    private static partial void LogTimedOut(ILogger logger, string jobId, TimeSpan walltime);

    internal sealed record Meta
    {
        public string JobId { get; init; } = "";
        public string Name { get; init; } = "";
        public string Owner { get; init; } = "";
        public string? Account { get; init; }
        public string? Partition { get; init; }
        public string? Qos { get; init; }
        public int Pid { get; init; }
        public ulong StartTime { get; init; }
        public DateTimeOffset StartedAt { get; init; }
        public TimeSpan Walltime { get; init; }
        public List<string> Nodes { get; init; } = [];
        public int Cpus { get; init; }
        public long MemoryMiB { get; init; }
        public string WorkDirectory { get; init; } = "";
        public bool OwnWorkDirectory { get; init; }
        public List<StagingItem> Outputs { get; init; } = [];
        public string? OutputDirectory { get; init; }
    }

    private sealed class Tracked(Meta meta, Process? process) : IDisposable
    {
        public Meta Meta { get; } = meta;
        public Process? Process { get; } = process;
        public ITimer? WalltimeTimer { get; set; }
        public ITimer? KillTimer { get; set; }
        public long PeakBytes { get; set; }
        public TimeSpan Cpu { get; set; }

        public void Dispose()
        {
            WalltimeTimer?.Dispose();
            KillTimer?.Dispose();
        }
    }
}

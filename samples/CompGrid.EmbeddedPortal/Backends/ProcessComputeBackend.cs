using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using CompGrid.EmbeddedPortal.Backends.Diagnostics;
using Microsoft.Extensions.Logging;

namespace CompGrid.EmbeddedPortal.Backends;

/// <summary>Runs each job as a child process; its runs live in memory (see <see cref="ProcessBackend"/> for the limits).</summary>
internal sealed class ProcessComputeBackend(string name, ProcessBackendOptions options, TimeProvider time, ILogger logger) : IComputeBackend, IDisposable
{
    private readonly ConcurrentDictionary<string, Run> _runs = new(StringComparer.Ordinal);
    private int _next;

    public string Name => name;

    // CompGrid's placement chooses the node (there is one); only argument lists run, never a shell string.
    public BackendCapabilities Capabilities { get; } = new() { PlacesJobsItself = false, LogStreaming = true, Payloads = [PayloadKind.Executable] };

    public Task<string> SubmitAsync(BackendJobRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Spec.Payload is not { Kind: PayloadKind.Executable, Executable: { Length: > 0 } executable } payload)
            throw Error(request.JobId, "submit", "runs Exec payloads only (an executable and its argument list).", CompGridErrorCodes.Invalid);

        string id = $"proc-{Interlocked.Increment(ref _next)}";
        string workDirectory = Path.Combine(options.WorkDirectory, request.JobId);
        Directory.CreateDirectory(workDirectory);
        var start = new ProcessStartInfo(executable)
        {
            WorkingDirectory = workDirectory,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string argument in payload.Arguments ?? []) start.ArgumentList.Add(argument);
        foreach (var (key, value) in request.Spec.Environment) start.Environment[key] = value;

        var run = new Run(id, request, workDirectory, new Process { StartInfo = start, EnableRaisingEvents = true }, options.MaxLogBytes);
        run.Process.OutputDataReceived += (_, e) => run.Append(run.Output, e.Data);
        run.Process.ErrorDataReceived += (_, e) => run.Append(run.Error, e.Data);
        try
        {
            run.Process.Start();
        }
        catch (Win32Exception ex)
        {
            run.Process.Dispose();
            throw Error(request.JobId, "submit", $"cannot start '{executable}': {ex.Message}", CompGridErrorCodes.CommandNotFound, ex);
        }
        run.StartedAt = time.GetUtcNow();
        run.Pid = run.Process.Id;
        run.Process.StandardInput.Close(); // jobs read no input
        run.Process.BeginOutputReadLine();
        run.Process.BeginErrorReadLine();
        _runs[id] = run;
        // The walltime runs on the injected clock, so tests can drive it.
        run.Walltime = time.CreateTimer(_ => Kill(run, JobState.TimedOut), null, request.Walltime, Timeout.InfiniteTimeSpan);
        Log.Started(logger, name, request.JobId, id, run.Pid, executable);
        _ = WatchAsync(run);
        return Task.FromResult(id);
    }

    private async Task WatchAsync(Run run)
    {
        // WaitForExitAsync also waits for the redirected output to be read to its end.
        await run.Process.WaitForExitAsync().ConfigureAwait(false);
        int exit = run.Process.ExitCode;
        lock (run)
        {
            run.ExitCode = exit;
            run.EndedAt = time.GetUtcNow();
            run.State = run.KilledAs ?? (exit == 0 ? JobState.Completed : JobState.Failed);
        }
        run.Walltime?.Dispose();
        Log.Ended(logger, name, run.Id, run.State, exit);
    }

    private void Kill(Run run, JobState endAs)
    {
        lock (run)
        {
            if (run.State.IsTerminal() || run.KilledAs is not null) return;
            run.KilledAs = endAs;
        }
        try
        {
            run.Process.Kill(entireProcessTree: true);
        }
        catch (Exception ex) when (ex is InvalidOperationException or Win32Exception)
        {
            Log.KillFailed(logger, ex, name, run.Id); // it exited meanwhile: WatchAsync records how
        }
    }

    public Task<BackendJobStatus?> GetStatusAsync(string backendJobId, CancellationToken cancellationToken = default) =>
        Task.FromResult(_runs.TryGetValue(backendJobId, out var run) ? run.Status(options.NodeName) : null);

    public Task CancelAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        Kill(Find(backendJobId), JobState.Cancelled);
        return Task.CompletedTask;
    }

    public async IAsyncEnumerable<BackendJobStatus> ListJobsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        foreach (var run in _runs.Values)
            if (!run.Cleaned) yield return run.Status(options.NodeName);
    }

    public Task<JobLogs> GetLogsAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        var run = Find(backendJobId);
        lock (run) return Task.FromResult(new JobLogs { StandardOutput = run.Output.ToString(), StandardError = run.Error.ToString(), Truncated = run.Truncated });
    }

    public Task<IReadOnlyList<NodeInfo>> GetNodesAsync(CancellationToken cancellationToken = default)
    {
        var capacity = new NodeResources(options.Cpus, options.MemoryMiB, 0);
        var used = _runs.Values.Where(r => !r.State.IsTerminal())
            .Aggregate(new NodeResources(0, 0, 0), (sum, r) => sum + new NodeResources(r.Request.Spec.Resources.Cpus, r.Request.MemoryMiBPerNode, 0));
        IReadOnlyList<NodeInfo> nodes = [new NodeInfo { Name = options.NodeName, Backend = name, Capacity = capacity, Free = capacity - used }];
        return Task.FromResult(nodes);
    }

    // No accounting of its own: the engine derives usage from what it observed (start, end, allocation).
    public Task<UsageRecord?> GetUsageAsync(string backendJobId, CancellationToken cancellationToken = default) => Task.FromResult<UsageRecord?>(null);

    public Task CompleteAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        var run = Find(backendJobId);
        if (!run.State.IsTerminal() || run.Cleaned) return Task.CompletedTask;
        run.Cleaned = true; // logs stay readable; the working directory goes
        if (Directory.Exists(run.WorkDirectory)) Directory.Delete(run.WorkDirectory, recursive: true);
        run.Process.Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        foreach (var run in _runs.Values)
        {
            Kill(run, JobState.Cancelled);
            run.Walltime?.Dispose();
        }
    }

    private Run Find(string backendJobId) => _runs.TryGetValue(backendJobId, out var run) ? run : throw new JobNotFoundException(backendJobId) { Backend = name };

    private CompGridException Error(string jobId, string operation, string message, string code, Exception? inner = null) =>
        new($"Process backend '{name}' {message}", inner) { Backend = name, Operation = operation, JobId = jobId, Code = code, IsTransient = false };

    /// <summary>One child process and what is known of it; guarded by its own lock.</summary>
    private sealed class Run(string id, BackendJobRequest request, string workDirectory, Process process, int maxLogBytes)
    {
        public string Id { get; } = id;
        public BackendJobRequest Request { get; } = request;
        public string WorkDirectory { get; } = workDirectory;
        public Process Process { get; } = process;
        public StringBuilder Output { get; } = new();
        public StringBuilder Error { get; } = new();
        public ITimer? Walltime { get; set; }
        public JobState State { get; set; } = JobState.Running;
        public JobState? KilledAs { get; set; }
        public int Pid { get; set; }
        public int? ExitCode { get; set; }
        public DateTimeOffset? StartedAt { get; set; }
        public DateTimeOffset? EndedAt { get; set; }
        public bool Truncated { get; private set; }
        public bool Cleaned { get; set; }

        public void Append(StringBuilder log, string? line)
        {
            if (line is null) return;
            lock (this)
            {
                if (log.Length + line.Length + 1 > maxLogBytes) { Truncated = true; return; }
                log.Append(line).Append('\n');
            }
        }

        public BackendJobStatus Status(string node)
        {
            lock (this)
                return new BackendJobStatus
                {
                    BackendJobId = Id, JobId = Request.JobId, State = State, NativeState = "pid " + Pid.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ExitCode = ExitCode, StartedAt = StartedAt, EndedAt = EndedAt, Nodes = [node],
                    Reason = KilledAs switch { JobState.TimedOut => "walltime exceeded", JobState.Cancelled => "cancelled", _ => null },
                };
        }
    }
}

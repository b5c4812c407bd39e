using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace CompGrid.Testing;

/// <summary>
/// A backend that runs nothing, for tests of the engine and of code built on it. Command-line payloads understand
/// <c>echo TEXT</c>, <c>exit N</c> and <c>sleep SECONDS</c>, joined with <c>;</c> (time passes on the injected
/// <see cref="TimeProvider"/>); any other payload runs until <see cref="Finish"/> ends it. CompGrid places its jobs
/// on the configured nodes. Walltime limits are enforced.
/// </summary>
public sealed class InMemoryBackend : IComputeBackend, IBackendEventSource
{
    private readonly ConcurrentDictionary<string, Job> _jobs = new(StringComparer.Ordinal);
    private readonly Channel<BackendJobStatus> _events = Channel.CreateUnbounded<BackendJobStatus>();
    private readonly TimeProvider _time;
    private readonly List<NodeInfo> _nodes;
    private int _next;

    /// <summary>Creates a backend named <paramref name="name"/> with <paramref name="nodes"/> nodes of the given size.</summary>
    public InMemoryBackend(string name = "memory", TimeProvider? timeProvider = null, int nodes = 2, int cpusPerNode = 4, long memoryMiBPerNode = 8192, int gpusPerNode = 0)
    {
        Name = name;
        _time = timeProvider ?? TimeProvider.System;
        _nodes = Enumerable.Range(1, nodes).Select(i => new NodeInfo
        {
            Name = $"{name}-n{i}",
            Backend = name,
            Capacity = new NodeResources(cpusPerNode, memoryMiBPerNode, gpusPerNode),
            Free = new NodeResources(cpusPerNode, memoryMiBPerNode, gpusPerNode),
            Partitions = ["default"],
        }).ToList();
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public BackendCapabilities Capabilities { get; } = new()
    {
        PlacesJobsItself = false, MultiNode = true, Gpus = true, LogStreaming = true, PushesEvents = true,
        Payloads = [PayloadKind.CommandLine, PayloadKind.Script, PayloadKind.Executable, PayloadKind.Container],
    };

    /// <summary>Every request received, in order.</summary>
    public ConcurrentQueue<BackendJobRequest> Submissions { get; } = new();

    /// <summary>When set, the next submissions throw this exception.</summary>
    public Exception? FailSubmissionsWith { get; set; }

    /// <summary>The backend job id of the job carrying <paramref name="jobId"/>, or null.</summary>
    public string? FindByJobId(string jobId) => _jobs.Values.FirstOrDefault(j => j.JobId == jobId)?.Id;

    /// <summary>Ends a running or queued job by hand with <paramref name="state"/> and <paramref name="exitCode"/>.</summary>
    public void Finish(string backendJobId, JobState state = JobState.Completed, int? exitCode = 0, string? reason = null)
    {
        if (!_jobs.TryGetValue(backendJobId, out var job)) throw new JobNotFoundException(backendJobId);
        End(job, state, exitCode, reason);
    }

    /// <summary>Forgets a job, as a backend that lost it would (for reconciliation tests).</summary>
    public void Forget(string backendJobId) => _jobs.TryRemove(backendJobId, out _);

    /// <inheritdoc/>
    public Task<string> SubmitAsync(BackendJobRequest request, CancellationToken cancellationToken = default)
    {
        if (FailSubmissionsWith is { } ex) throw ex;
        Submissions.Enqueue(request);
        string id = Interlocked.Increment(ref _next).ToString(CultureInfo.InvariantCulture);
        var job = new Job(id, request.JobId, request, _time.GetUtcNow());
        _jobs[id] = job;
        job.Walltime = _time.CreateTimer(_ => End(job, JobState.TimedOut, null, "walltime exceeded"), null, request.Walltime, Timeout.InfiniteTimeSpan);
        Publish(job);
        Step(job);
        return Task.FromResult(id);
    }

    /// <inheritdoc/>
    public Task<BackendJobStatus?> GetStatusAsync(string backendJobId, CancellationToken cancellationToken = default) =>
        Task.FromResult(_jobs.TryGetValue(backendJobId, out var job) ? job.Status() : null);

    /// <inheritdoc/>
    public Task CancelAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        if (!_jobs.TryGetValue(backendJobId, out var job)) throw new JobNotFoundException(backendJobId);
        End(job, JobState.Cancelled, null, "cancelled");
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<BackendJobStatus> ListJobsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var job in _jobs.Values.ToList())
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return job.Status();
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public Task<JobLogs> GetLogsAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        if (!_jobs.TryGetValue(backendJobId, out var job)) throw new JobNotFoundException(backendJobId);
        lock (job) return Task.FromResult(new JobLogs { StandardOutput = job.Output.ToString() });
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<NodeInfo>> GetNodesAsync(CancellationToken cancellationToken = default) => Task.FromResult<IReadOnlyList<NodeInfo>>(_nodes);

    /// <summary>Changes a node's state (Down, Draining …) for tests.</summary>
    public void SetNodeState(string node, NodeState state)
    {
        int i = _nodes.FindIndex(n => n.Name == node);
        if (i < 0) throw new ArgumentException($"No node '{node}'.", nameof(node));
        _nodes[i] = _nodes[i] with { State = state };
    }

    /// <inheritdoc/>
    public Task<UsageRecord?> GetUsageAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        if (!_jobs.TryGetValue(backendJobId, out var job)) return Task.FromResult<UsageRecord?>(null);
        var s = job.Status();
        var r = job.Request;
        var elapsed = s.StartedAt is { } st && s.EndedAt is { } en ? en - st : TimeSpan.Zero;
        return Task.FromResult<UsageRecord?>(new UsageRecord
        {
            JobId = job.JobId, Account = r.Spec.Account, User = r.Spec.Owner, Backend = Name, BackendJobId = job.Id,
            Partition = r.Spec.Constraints.Partition, Qos = r.Spec.Qos, Nodes = r.Nodes, StartedAt = s.StartedAt, EndedAt = s.EndedAt,
            Elapsed = elapsed, AllocatedCpus = r.Spec.Resources.TotalCpus, AllocatedMemoryMiB = r.MemoryMiBPerNode * r.Spec.Resources.Nodes,
            AllocatedGpus = r.Spec.Resources.TotalGpus, GpuModel = r.Spec.Resources.GpuModel, NodeCount = r.Spec.Resources.Nodes,
            CpuTime = TimeSpan.Zero, ExitCode = s.ExitCode, FinalState = s.State,
        });
    }

    /// <inheritdoc/>
    public Task CompleteAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        if (_jobs.TryGetValue(backendJobId, out var job)) job.Completed = true;
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public IAsyncEnumerable<BackendJobStatus> WatchAsync(CancellationToken cancellationToken = default) => _events.Reader.ReadAllAsync(cancellationToken);

    private void Publish(Job job) => _events.Writer.TryWrite(job.Status());

    // Runs the command list until a sleep, which re-enters Step from a timer.
    private void Step(Job job)
    {
        lock (job)
        {
            if (job.State.IsTerminal()) return;
            if (job.State == JobState.Queued) { job.State = JobState.Running; job.StartedAt = _time.GetUtcNow(); }
        }
        Publish(job);
        var payload = job.Request.Spec.Payload;
        if (payload?.Kind != PayloadKind.CommandLine) return; // runs until Finish
        while (true)
        {
            string? cmd;
            lock (job)
            {
                if (job.State.IsTerminal()) return;
                if (job.Pc >= job.Commands.Length) break;
                cmd = job.Commands[job.Pc++];
            }
            string[] parts = cmd.Split(' ', 2, StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0) continue;
            string arg = parts.Length > 1 ? parts[1] : "";
            switch (parts[0])
            {
                case "echo":
                    lock (job) job.Output.Append(arg.Trim('"', '\'')).Append('\n');
                    break;
                case "exit":
                    End(job, JobState.Completed, int.Parse(arg, CultureInfo.InvariantCulture), null);
                    return;
                case "sleep":
                    var delay = TimeSpan.FromSeconds(double.Parse(arg, CultureInfo.InvariantCulture));
                    job.Sleep = _time.CreateTimer(_ => Step(job), null, delay, Timeout.InfiniteTimeSpan);
                    return;
                default:
                    End(job, JobState.Failed, 127, $"{parts[0]}: command not found");
                    return;
            }
        }
        End(job, JobState.Completed, 0, null);
    }

    private void End(Job job, JobState state, int? exitCode, string? reason)
    {
        lock (job)
        {
            if (job.State.IsTerminal()) return;
            if (state == JobState.Completed && exitCode is not (null or 0)) state = JobState.Failed;
            job.State = state;
            job.ExitCode = exitCode;
            job.Reason = reason;
            job.StartedAt ??= _time.GetUtcNow();
            job.EndedAt = _time.GetUtcNow();
            job.Walltime?.Dispose();
            job.Sleep?.Dispose();
        }
        Publish(job);
    }

    private sealed class Job(string id, string jobId, BackendJobRequest request, DateTimeOffset submitted)
    {
        public string Id { get; } = id;
        public string JobId { get; } = jobId;
        public BackendJobRequest Request { get; } = request;
        public DateTimeOffset Submitted { get; } = submitted;
        public JobState State { get; set; } = JobState.Queued;
        public DateTimeOffset? StartedAt { get; set; }
        public DateTimeOffset? EndedAt { get; set; }
        public int? ExitCode { get; set; }
        public string? Reason { get; set; }
        public bool Completed { get; set; }
        public System.Text.StringBuilder Output { get; } = new();
        public string[] Commands { get; } = (request.Spec.Payload?.CommandLine ?? "").Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        public int Pc { get; set; }
        public ITimer? Walltime { get; set; }
        public ITimer? Sleep { get; set; }

        public BackendJobStatus Status()
        {
            lock (this)
            {
                return new BackendJobStatus
                {
                    BackendJobId = Id, JobId = JobId, State = State, NativeState = State.ToString().ToUpperInvariant(), Reason = Reason,
                    ExitCode = ExitCode, StartedAt = StartedAt, EndedAt = EndedAt, Nodes = Request.Nodes,
                };
            }
        }
    }
}

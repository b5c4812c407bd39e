using System.Diagnostics;

namespace CompGrid.Testing;

/// <summary>
/// The conformance suite every backend adapter passes. Derive a test class, supply <see cref="Backend"/> (usually
/// from a collection or class fixture that starts the real backend once per run) and override the hooks where your
/// backend differs (payloads, the shortest walltime it enforces, the spec defaults such as account and partition).
/// The facts drive the backend directly through <see cref="IComputeBackend"/>, not through the engine.
/// </summary>
public abstract class BackendConformanceTests
{
    /// <summary>The backend under test.</summary>
    protected abstract IComputeBackend Backend { get; }

    /// <summary>How long a fact waits for a job to reach a state. The default is 60 s.</summary>
    protected virtual TimeSpan Timeout => TimeSpan.FromSeconds(60);

    /// <summary>The walltime used by the walltime fact; backends with coarse limits (Slurm: minutes) raise it. The default is 2 s.</summary>
    protected virtual TimeSpan ShortWalltime => TimeSpan.FromSeconds(2);

    /// <summary>How often status is polled while waiting (for backends without events). The default is 100 ms.</summary>
    protected virtual TimeSpan PollInterval => TimeSpan.FromMilliseconds(100);

    /// <summary>A payload that prints <paramref name="text"/> to standard output and exits 0.</summary>
    protected virtual JobPayload EchoPayload(string text) => JobPayload.Command($"echo {text}");

    /// <summary>A payload that exits with <paramref name="code"/>.</summary>
    protected virtual JobPayload ExitPayload(int code) => JobPayload.Command($"exit {code}");

    /// <summary>A payload that runs for <paramref name="seconds"/> seconds.</summary>
    protected virtual JobPayload SleepPayload(int seconds) => JobPayload.Command($"sleep {seconds}");

    /// <summary>The spec every fact starts from; override to set an account, partition or owner your backend needs.</summary>
    protected virtual JobSpec BaseSpec(string name) => new() { Name = name, Owner = Environment.UserName, Resources = new() { Cpus = 1, MemoryMiB = 64 } };

    /// <summary>A fresh CompGrid job id.</summary>
    protected static string NewJobId() => "cg-conf-" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>Builds the request for <paramref name="spec"/>, choosing nodes for backends CompGrid places.</summary>
    protected virtual async Task<BackendJobRequest> CreateRequestAsync(string jobId, JobSpec spec, TimeSpan? walltime = null)
    {
        IReadOnlyList<string> nodes = [];
        if (!Backend.Capabilities.PlacesJobsItself)
        {
            var all = await Backend.GetNodesAsync();
            nodes = all.Where(n => n.State == NodeState.Up && n.Capacity.Cpus >= spec.Resources.Cpus)
                       .Select(n => n.Name).Take(spec.Resources.Nodes).ToList();
            Assert.True(nodes.Count == spec.Resources.Nodes, $"the backend has fewer than {spec.Resources.Nodes} Up node(s) with {spec.Resources.Cpus} CPU(s)");
        }
        return new BackendJobRequest
        {
            JobId = jobId,
            Spec = spec,
            Nodes = nodes,
            MemoryMiBPerNode = spec.Resources.MemoryMiB > 0 ? spec.Resources.MemoryMiB : 256,
            Walltime = walltime ?? spec.Walltime ?? TimeSpan.FromMinutes(10),
        };
    }

    /// <summary>Submits a job and returns its backend id.</summary>
    protected async Task<(string JobId, string BackendJobId)> SubmitAsync(JobSpec spec, TimeSpan? walltime = null)
    {
        string jobId = NewJobId();
        var request = await CreateRequestAsync(jobId, spec, walltime);
        string backendJobId = await Backend.SubmitAsync(request);
        Assert.False(string.IsNullOrEmpty(backendJobId));
        return (jobId, backendJobId);
    }

    /// <summary>Polls until the job's state satisfies <paramref name="until"/>, or fails after <see cref="Timeout"/>.</summary>
    protected async Task<BackendJobStatus> WaitForAsync(string backendJobId, Func<JobState, bool> until, string what)
    {
        var sw = Stopwatch.StartNew();
        BackendJobStatus? last = null;
        while (sw.Elapsed < Timeout)
        {
            last = await Backend.GetStatusAsync(backendJobId);
            if (last is not null && until(last.State)) return last;
            await Task.Delay(PollInterval);
        }
        Assert.Fail($"job {backendJobId} did not become {what} within {Timeout}; last status: {last?.ToString() ?? "unknown"}");
        return null!;
    }

    /// <summary>Waits until the job is terminal.</summary>
    protected Task<BackendJobStatus> WaitForTerminalAsync(string backendJobId) => WaitForAsync(backendJobId, s => s.IsTerminal(), "terminal");

    /// <summary>Reads logs until they contain <paramref name="text"/> (some backends flush output shortly after exit).</summary>
    protected async Task<JobLogs> WaitForLogsAsync(string backendJobId, string text)
    {
        var sw = Stopwatch.StartNew();
        JobLogs logs;
        do
        {
            logs = await Backend.GetLogsAsync(backendJobId);
            if (logs.StandardOutput.Contains(text, StringComparison.Ordinal)) return logs;
            await Task.Delay(PollInterval);
        }
        while (sw.Elapsed < Timeout);
        return logs;
    }

    /// <summary>An echo job completes with exit code 0 and its output in the logs.</summary>
    [Fact]
    public async Task Submit_EchoJob_CompletesWithOutputInLogs()
    {
        string marker = "conformance-" + Guid.NewGuid().ToString("N")[..8];
        var (_, id) = await SubmitAsync(BaseSpec("echo") with { Payload = EchoPayload(marker) });
        var status = await WaitForTerminalAsync(id);
        Assert.Equal(JobState.Completed, status.State);
        Assert.Equal(0, status.ExitCode);
        var logs = await WaitForLogsAsync(id, marker);
        Assert.Contains(marker, logs.StandardOutput, StringComparison.Ordinal);
    }

    /// <summary>A job exiting 3 ends Failed with exit code 3.</summary>
    [Fact]
    public async Task Submit_NonZeroExit_FailsWithExitCode()
    {
        var (_, id) = await SubmitAsync(BaseSpec("exit3") with { Payload = ExitPayload(3) });
        var status = await WaitForTerminalAsync(id);
        Assert.Equal(JobState.Failed, status.State);
        Assert.Equal(3, status.ExitCode);
    }

    /// <summary>Cancelling a running job ends it Cancelled; cancelling again changes nothing.</summary>
    [Fact]
    public async Task Cancel_RunningJob_EndsCancelled()
    {
        var (_, id) = await SubmitAsync(BaseSpec("sleeper") with { Payload = SleepPayload(300) });
        await WaitForAsync(id, s => s == JobState.Running, "Running");
        await Backend.CancelAsync(id);
        var status = await WaitForTerminalAsync(id);
        Assert.Equal(JobState.Cancelled, status.State);
        await Backend.CancelAsync(id); // idempotent on an ended job
        Assert.Equal(JobState.Cancelled, (await Backend.GetStatusAsync(id))!.State);
    }

    /// <summary>A job that outlives its walltime ends TimedOut.</summary>
    [Fact]
    public async Task Walltime_Exceeded_EndsTimedOut()
    {
        int sleep = (int)Math.Max(60, ShortWalltime.TotalSeconds * 10);
        var (_, id) = await SubmitAsync(BaseSpec("overtime") with { Payload = SleepPayload(sleep), Walltime = ShortWalltime }, ShortWalltime);
        var status = await WaitForTerminalAsync(id);
        Assert.Equal(JobState.TimedOut, status.State);
    }

    /// <summary>The node inventory has at least one Up node with CPUs and memory.</summary>
    [Fact]
    public async Task GetNodes_ReportsUpNodesWithCapacity()
    {
        var nodes = await Backend.GetNodesAsync();
        Assert.NotEmpty(nodes);
        Assert.Contains(nodes, n => n.State == NodeState.Up && n.Capacity.Cpus > 0 && n.Capacity.MemoryMiB > 0);
        Assert.All(nodes, n => Assert.Equal(Backend.Name, n.Backend));
        Assert.Equal(nodes.Count, nodes.Select(n => n.Name).Distinct().Count());
    }

    /// <summary>An unknown backend job id: status is null; cancel and logs throw <see cref="JobNotFoundException"/>.</summary>
    [Fact]
    public async Task UnknownJobId_StatusNull_CancelAndLogsThrowNotFound()
    {
        const string unknown = "999999999";
        Assert.Null(await Backend.GetStatusAsync(unknown));
        await Assert.ThrowsAsync<JobNotFoundException>(() => Backend.CancelAsync(unknown));
        await Assert.ThrowsAsync<JobNotFoundException>(() => Backend.GetLogsAsync(unknown));
    }

    /// <summary>Several jobs submitted at once all complete, each with its own output.</summary>
    [Fact]
    public async Task ConcurrentSubmissions_AllCompleteWithTheirOwnOutput()
    {
        const int count = 6;
        var submissions = await Task.WhenAll(Enumerable.Range(0, count).Select(i =>
            SubmitAsync(BaseSpec($"concurrent{i}") with { Payload = EchoPayload($"concurrent-{i}") })));
        Assert.Equal(count, submissions.Select(s => s.BackendJobId).Distinct().Count());
        for (int i = 0; i < count; i++)
        {
            var status = await WaitForTerminalAsync(submissions[i].BackendJobId);
            Assert.Equal(JobState.Completed, status.State);
            var logs = await WaitForLogsAsync(submissions[i].BackendJobId, $"concurrent-{i}");
            Assert.Contains($"concurrent-{i}", logs.StandardOutput, StringComparison.Ordinal);
        }
    }

    /// <summary>A submitted job is listed with the CompGrid job id it carries (what reconciliation relies on).</summary>
    [Fact]
    public async Task ListJobs_FindsJobByItsCompGridId()
    {
        var (jobId, id) = await SubmitAsync(BaseSpec("listed") with { Payload = SleepPayload(30) });
        try
        {
            var found = new List<BackendJobStatus>();
            await foreach (var s in Backend.ListJobsAsync())
                if (s.JobId == jobId) found.Add(s);
            var single = Assert.Single(found);
            Assert.Equal(id, single.BackendJobId);
        }
        finally
        {
            await Backend.CancelAsync(id);
            await WaitForTerminalAsync(id);
        }
    }

    /// <summary>After a job ends, usage reports its elapsed time, CPUs and exit code (or the backend has no accounting and returns null).</summary>
    [Fact]
    public async Task GetUsage_AfterCompletion_ReportsAllocationAndExit()
    {
        var (jobId, id) = await SubmitAsync(BaseSpec("usage") with { Payload = EchoPayload("usage") });
        await WaitForTerminalAsync(id);
        var usage = await Backend.GetUsageAsync(id);
        if (usage is null) return; // backend without accounting: the engine derives usage from the job record
        Assert.Equal(jobId, usage.JobId);
        Assert.Equal(JobState.Completed, usage.FinalState);
        Assert.True(usage.AllocatedCpus >= 1, "allocated CPUs");
        Assert.True(usage.Elapsed >= TimeSpan.Zero, "elapsed");
        Assert.Equal(0, usage.ExitCode);
        await Backend.CompleteAsync(id);
        await Backend.CompleteAsync(id); // idempotent
    }
}

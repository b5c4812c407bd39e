using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using CompGrid.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CompGrid.Scheduling.Tests;

internal sealed class RecordingSink : IUsageSink
{
    public ConcurrentDictionary<string, UsageRecord> Records { get; } = new();
    public int Calls;
    public int FailNext;

    public ValueTask RecordAsync(UsageRecord usage, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref Calls);
        if (Interlocked.Decrement(ref FailNext) >= 0) throw new InvalidOperationException("sink down");
        Records.TryAdd(usage.JobId, usage); // idempotent by job id, as the contract asks
        return ValueTask.CompletedTask;
    }
}

internal sealed class ScriptedCheck(AdmissionResult result) : IAdmissionCheck
{
    public List<string> Released { get; } = [];
    public ValueTask<AdmissionResult> CheckAsync(AdmissionContext context, CancellationToken cancellationToken = default) => ValueTask.FromResult(result);
    public ValueTask ReleaseAsync(AdmissionContext context, CancellationToken cancellationToken = default) { Released.Add(context.JobId); return ValueTask.CompletedTask; }
}

[Trait("Category", "Scheduling")]
public sealed class EngineTests : IAsyncLifetime
{
    private readonly ManualTimeProvider _time = new();
    private readonly InMemoryJobStore _store = new();
    private readonly RecordingSink _sink = new();
    private InMemoryBackend _backend = null!;
    private CompGridEngine _engine = null!;

    public async Task InitializeAsync()
    {
        _backend = new InMemoryBackend("mem", _time, nodes: 2, cpusPerNode: 4, memoryMiBPerNode: 4096);
        _engine = await StartEngineAsync(_backend, b => b.AddStewardship(o => o.MaxCpus = 4));
    }

    public async Task DisposeAsync() => await _engine.DisposeAsync();

    private async Task<CompGridEngine> StartEngineAsync(IComputeBackend backend, Action<ICompGridBuilder>? more = null)
    {
        var engine = CompGridEngine.Create(b =>
        {
            b.AddBackend(backend).UseJobStore(_store).UseTimeProvider(_time).AddUsageSink(_sink);
            more?.Invoke(b);
        });
        await engine.StartAsync();
        return engine;
    }

    private static JobSpec Job(string command, int cpus = 1, string owner = "alice") =>
        new() { Name = "t", Owner = owner, Payload = JobPayload.Command(command), Resources = new() { Cpus = cpus } };

    private async Task<JobRecord> SettleAsync(string id)
    {
        for (int i = 0; i < 50; i++)
        {
            await _engine.RunCycleAsync();
            var j = await _engine.GetJobAsync(id);
            if (j!.IsTerminal && j.UsageDelivered) return j;
        }
        return (await _engine.GetJobAsync(id))!;
    }

    [Fact]
    public async Task Submit_EchoJob_CompletesWithLogsAndOneUsageRecord()
    {
        var handle = await _engine.SubmitAsync(Job("echo hello"));
        var done = await handle.WaitForCompletionAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(JobState.Completed, done.State);
        Assert.Equal(0, done.ExitCode);
        Assert.Contains("hello", (await handle.GetLogsAsync()).StandardOutput, StringComparison.Ordinal);
        Assert.Single(_sink.Records);
        Assert.Equal(1, _sink.Calls);
        var usage = await _engine.GetUsageAsync(handle.Id);
        Assert.Equal(JobState.Completed, usage!.FinalState);
        Assert.Equal("alice", usage.User);
        var history = await _engine.GetHistoryAsync(handle.Id);
        Assert.Equal([JobState.Queued, JobState.Running, JobState.Completed], history.Select(h => h.To));
    }

    [Fact]
    public async Task Submit_NegativeCpus_RejectsNamingFieldAndStoresNothing()
    {
        var ex = await Assert.ThrowsAsync<JobValidationException>(() => _engine.SubmitAsync(Job("echo x", cpus: -1)));
        Assert.Contains(ex.Errors, e => e.Field == "resources.cpus" && e.Message.Contains("at least 1", StringComparison.Ordinal));
        var ex2 = await Assert.ThrowsAsync<JobValidationException>(() => _engine.SubmitAsync(new JobSpec { Owner = "alice" }));
        Assert.Contains(ex2.Errors, e => e.Field == "payload");
        Assert.Empty(await _engine.ListJobsAsync().ToListAsync());
    }

    [Theory]
    [InlineData("owner", "")]
    [InlineData("environment.BAD-NAME", "env")]
    [InlineData("walltime", "walltime")]
    [InlineData("outputs[0].destination", "outputs")]
    [InlineData("constraints.backend", "backend")]
    public async Task Submit_InvalidField_ErrorNamesTheField(string field, string what)
    {
        var spec = Job("true");
        spec = what switch
        {
            "" => spec with { Owner = "" },
            "env" => spec with { Environment = new Dictionary<string, string> { ["BAD-NAME"] = "x" } },
            "walltime" => spec with { Walltime = TimeSpan.FromSeconds(-1) },
            "outputs" => spec with { Outputs = [new StagingItem { Source = "a", Destination = "../../etc/x" }] },
            _ => spec with { Constraints = new() { Backend = "nope" } },
        };
        var ex = await Assert.ThrowsAsync<JobValidationException>(() => _engine.SubmitAsync(spec));
        Assert.Contains(ex.Errors, e => e.Field == field);
    }

    [Fact]
    public async Task Stewardship_LargeJob_WaitsForApprovalThenRuns()
    {
        var handle = await _engine.SubmitAsync(Job("echo big", cpus: 6) with { Resources = new() { Cpus = 3, Nodes = 2 } });
        var job = await handle.GetAsync();
        Assert.Equal(JobState.AwaitingApproval, job.State);
        Assert.Contains("6 CPUs (limit 4)", job.Reason, StringComparison.Ordinal);
        await _engine.RunCycleAsync();
        Assert.Equal(JobState.AwaitingApproval, (await handle.GetAsync()).State);
        Assert.Empty(_backend.Submissions);

        var approved = await _engine.ApproveAsync(handle.Id, "admin", "for the paper deadline");
        Assert.Equal(JobState.Queued, approved.State);
        Assert.Equal("admin", approved.Approval!.By);
        Assert.Equal(_time.GetUtcNow(), approved.Approval.At);
        Assert.Equal("for the paper deadline", approved.Approval.Reason);
        var done = await SettleAsync(handle.Id);
        Assert.Equal(JobState.Completed, done.State);
        Assert.Equal(2, done.Nodes.Count);
    }

    [Fact]
    public async Task Stewardship_Rejected_EndsRejectedWithZeroUsage()
    {
        var handle = await _engine.SubmitAsync(Job("echo big", cpus: 8));
        await Assert.ThrowsAsync<JobValidationException>(() => _engine.RejectAsync(handle.Id, "admin", " "));
        var rejected = await _engine.RejectAsync(handle.Id, "admin", "too large for the sandbox");
        Assert.Equal(JobState.Rejected, rejected.State);
        Assert.False(rejected.Approval!.Approved);
        Assert.Contains("too large", rejected.Reason, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.Zero, _sink.Records[handle.Id].Elapsed);
        await Assert.ThrowsAsync<InvalidJobStateException>(() => _engine.ApproveAsync(handle.Id, "admin"));
    }

    [Fact]
    public async Task Cancel_InEveryNonTerminalState_EndsCancelled()
    {
        var waiting = await _engine.SubmitAsync(Job("sleep 100", cpus: 8));
        var running = await _engine.SubmitAsync(Job("sleep 100"));
        await _engine.RunCycleAsync();
        await _engine.RunCycleAsync();
        Assert.Equal(JobState.Running, (await running.GetAsync()).State);
        Assert.Equal(JobState.Cancelled, (await waiting.CancelAsync()).State);
        await running.CancelAsync();
        var r = await SettleAsync(running.Id);
        Assert.Equal(JobState.Cancelled, r.State);
        Assert.Equal(2, _sink.Records.Count);
        Assert.Equal(JobState.Cancelled, (await _engine.CancelAsync(r.Id)).State); // terminal: unchanged
    }

    [Fact]
    public async Task Placement_FullNodes_JobWaitsWithReasonThenRuns()
    {
        var big1 = await _engine.SubmitAsync(Job("sleep 10", cpus: 4));
        var big2 = await _engine.SubmitAsync(Job("sleep 10", cpus: 4));
        _time.Advance(TimeSpan.FromMilliseconds(1));
        var third = await _engine.SubmitAsync(Job("echo third", cpus: 2));
        await _engine.RunCycleAsync();
        await _engine.RunCycleAsync();
        var t = await third.GetAsync();
        Assert.Equal(JobState.Queued, t.State);
        Assert.StartsWith("Resources", t.Reason, StringComparison.Ordinal);
        _time.Advance(TimeSpan.FromSeconds(10));
        var done = await SettleAsync(third.Id);
        Assert.Equal(JobState.Completed, done.State);
        Assert.NotEqual((await big1.GetAsync()).Nodes[0], (await big2.GetAsync()).Nodes[0]);
    }

    [Fact]
    public async Task Placement_LargerThanAnyNode_SaysSo()
    {
        var h = await _engine.SubmitAsync(Job("true") with { Resources = new() { Cpus = 1, MemoryMiB = 100_000 } });
        await _engine.RunCycleAsync();
        Assert.Contains("no node of 'mem' is large enough", (await h.GetAsync()).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restart_JobRunningAndJobEndedWhileDown_AdoptedAndSettledOnce()
    {
        var keeps = await _engine.SubmitAsync(Job("sleep 100"));
        var ends = await _engine.SubmitAsync(Job("sleep 5"));
        await _engine.RunCycleAsync();
        await _engine.RunCycleAsync();
        await _engine.DisposeAsync();

        _time.Advance(TimeSpan.FromSeconds(6)); // "ends" finishes while no engine runs
        _engine = await StartEngineAsync(_backend);
        var e = await _engine.GetJobAsync(ends.Id);
        Assert.Equal(JobState.Completed, e!.State);
        Assert.True(e.UsageDelivered);
        Assert.Equal(JobState.Running, (await _engine.GetJobAsync(keeps.Id))!.State);
        _backend.Finish(_backend.FindByJobId(keeps.Id)!, JobState.Completed, 0);
        Assert.Equal(JobState.Completed, (await SettleAsync(keeps.Id)).State);
        Assert.Equal(2, _sink.Records.Count);
        Assert.Equal(2, _sink.Calls);
    }

    [Fact]
    public async Task Restart_BackendLostTheJob_EndsNodeFailedWithReason()
    {
        var h = await _engine.SubmitAsync(Job("sleep 100"));
        await _engine.RunCycleAsync();
        await _engine.DisposeAsync();
        _backend.Forget(_backend.FindByJobId(h.Id)!);
        _engine = await StartEngineAsync(_backend);
        var j = await _engine.GetJobAsync(h.Id);
        Assert.Equal(JobState.NodeFailed, j!.State);
        Assert.Contains("no longer knows", j.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UsageSink_FailsOnce_DeliveredOnNextCycleWithoutDuplicates()
    {
        _sink.FailNext = 1;
        var h = await _engine.SubmitAsync(Job("echo x"));
        var j = await SettleAsync(h.Id);
        Assert.True(j.UsageDelivered);
        Assert.Single(_sink.Records);
        Assert.Equal(2, _sink.Calls);
    }

    [Fact]
    public async Task Admission_LaterCheckRejects_EarlierCheckReleasedAndNothingStored()
    {
        var first = new ScriptedCheck(AdmissionResult.Admit());
        var second = new ScriptedCheck(AdmissionResult.Reject("grant 'x' has 0 available but the job needs 5", "insufficient-funds"));
        await using var engine = await StartEngineAsync(new InMemoryBackend("m2", _time), b => b.AddAdmissionCheck(first).AddAdmissionCheck(second));
        var ex = await Assert.ThrowsAsync<JobRejectedException>(() => engine.SubmitAsync(Job("true")));
        Assert.Equal("insufficient-funds", ex.Code);
        Assert.Single(first.Released);
        Assert.Empty(await engine.ListJobsAsync().ToListAsync());
    }

    [Fact]
    public async Task Start_UnknownPolicyName_FailsAtStartUp()
    {
        var engine = CompGridEngine.Create(b => b.AddBackend(new InMemoryBackend("m3", _time)).UseJobStore(new InMemoryJobStore()).Configure(o => o.PlacementPolicy = "best-fitt"));
        var ex = await Assert.ThrowsAsync<CompGridException>(() => engine.StartAsync());
        Assert.Contains("best-fitt", ex.Message, StringComparison.Ordinal);
        Assert.Contains("first-fit", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ordering_LowerNiceRunsFirst()
    {
        var blocker = await _engine.SubmitAsync(Job("sleep 10", cpus: 4));
        var blocker2 = await _engine.SubmitAsync(Job("sleep 100", cpus: 4));
        await _engine.RunCycleAsync();
        var late = await _engine.SubmitAsync(Job("sleep 10", cpus: 4) with { Nice = 100 });
        _time.Advance(TimeSpan.FromSeconds(1));
        var urgent = await _engine.SubmitAsync(Job("sleep 10", cpus: 4) with { Nice = -5 });
        _time.Advance(TimeSpan.FromSeconds(9));
        await _engine.RunCycleAsync();
        await _engine.RunCycleAsync();
        Assert.Equal(JobState.Running, (await urgent.GetAsync()).State);
        Assert.NotEqual(JobState.Running, (await late.GetAsync()).State);
    }

    [Fact]
    public async Task WebhookNotifier_PostsJsonForTerminalState()
    {
        int port = FreePort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var received = new ConcurrentQueue<JsonDocument>();
        var delivered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously); // the outbox worker sends after completion
        var serve = Task.Run(async () =>
        {
            while (listener.IsListening)
            {
                HttpListenerContext ctx;
                try { ctx = await listener.GetContextAsync(); } catch (Exception) { return; }
                received.Enqueue(await JsonDocument.ParseAsync(ctx.Request.InputStream));
                ctx.Response.StatusCode = 204;
                ctx.Response.Close();
                if (received.Any(d => d.RootElement.GetProperty("state").GetString() == "Failed")) delivered.TrySetResult();
            }
        });
        // A store of its own: the class's engine drains the shared store's outbox too, and without a webhook notifier
        // it would dead-letter this message as addressed to a notifier it does not have.
        await using var engine = CompGridEngine.Create(b => b.AddBackend(new InMemoryBackend("m4", _time)).UseJobStore(new InMemoryJobStore()).UseTimeProvider(_time)
            .AddWebhookNotifier(o => { o.SigningSecret = new string('s', 32); o.AllowedNetworks = ["127.0.0.1/32"]; }));
        await engine.StartAsync();
        var spec = Job("exit 3") with { Notifications = new NotificationSettings { Webhook = new Uri($"http://127.0.0.1:{port}/hook") } };
        var h = await engine.SubmitAsync(spec);
        var done = await h.WaitForCompletionAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(JobState.Failed, done.State);
        Assert.Equal(3, done.ExitCode);
        await delivered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains(received, d => d.RootElement.GetProperty("state").GetString() == "Failed" && d.RootElement.GetProperty("exitCode").GetInt32() == 3 && d.RootElement.GetProperty("jobId").GetString() == h.Id);
        listener.Stop();
    }

    private static int FreePort()
    {
        var l = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}

[Trait("Category", "Scheduling")]
public sealed class DependencyInjectionTests
{
    [Fact]
    public async Task AddCompGrid_ResolvesEngineAsClient()
    {
        var services = new ServiceCollection();
        services.AddCompGrid().AddBackend(new InMemoryBackend()).UseJobStore(new InMemoryJobStore());
        await using var sp = services.BuildServiceProvider();
        var client = sp.GetRequiredService<ICompGridClient>();
        Assert.Same(sp.GetRequiredService<CompGridEngine>(), client);
    }

    [Fact]
    public async Task SubmitAsync_BeforeStart_ExplainsWhatToDo()
    {
        await using var engine = CompGridEngine.Create(b => b.AddBackend(new InMemoryBackend()).UseJobStore(new InMemoryJobStore()));
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => engine.SubmitAsync(new JobSpec { Owner = "a", Payload = JobPayload.Command("true") }));
        Assert.Contains("StartAsync", ex.Message, StringComparison.Ordinal);
    }
}

[Trait("Category", "Scheduling")]
public sealed class ActiveStandbyTests
{
    [Fact]
    public async Task TwoInstances_OneSchedules_StandbyTakesOverWhenItStops()
    {
        var time = new ManualTimeProvider();
        var store = new InMemoryJobStore();
        var backend = new InMemoryBackend("mem", time);
        var sink = new RecordingSink();
        var group = new InMemoryLeaseGroup();
        var a = CompGridEngine.Create(b => b.AddBackend(backend).UseJobStore(store).UseTimeProvider(time).AddUsageSink(sink)
            .UseSchedulerLease(group.CreateLease("a")).Configure(o => o.PollInterval = TimeSpan.FromHours(1)));
        await using var b = CompGridEngine.Create(bb => bb.AddBackend(backend).UseJobStore(store).UseTimeProvider(time).AddUsageSink(sink)
            .UseSchedulerLease(group.CreateLease("b")).Configure(o => o.PollInterval = TimeSpan.FromHours(1)));
        await a.StartAsync();
        await b.StartAsync();
        Assert.Equal("a", group.Holder);
        Assert.True(a.IsActiveScheduler);
        Assert.False(b.IsActiveScheduler);

        // Submitted through the standby: only the active instance dispatches it.
        var job = await b.SubmitAsync(new JobSpec { Owner = "alice", Payload = JobPayload.Command("sleep 10") });
        await b.RunCycleAsync();
        // The standby dispatched nothing (the active instance's own loop may have dispatched it already: at most one run).
        Assert.False(b.IsActiveScheduler);
        Assert.True(backend.Submissions.Count <= 1, $"{backend.Submissions.Count} submissions");
        await a.RunCycleAsync();
        await a.RunCycleAsync();
        Assert.Equal(JobState.Running, (await store.GetAsync(job.Id))!.State);
        Assert.Single(backend.Submissions);

        // The active instance stops; the job ends meanwhile; the standby takes over, settles it once.
        await a.DisposeAsync();
        // The standby's own loop may already have taken the released lease (it wakes on its own submit signal),
        // so the only fact to check here is that the stopped instance let go of it.
        Assert.NotEqual("a", group.Holder);
        time.Advance(TimeSpan.FromSeconds(10));
        await b.RunCycleAsync();
        Assert.Equal("b", group.Holder);
        var done = await store.GetAsync(job.Id);
        Assert.Equal(JobState.Completed, done!.State);
        Assert.True(done.UsageDelivered);
        Assert.Equal(1, sink.Calls);
        Assert.Single(backend.Submissions);
    }
}

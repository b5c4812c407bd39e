using CompGrid.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace CompGrid.Scheduling.Tests.Engine;

// The engine's components, each alone (the engine tests cover them together).
[Trait("Category", "Scheduling")]
public sealed class EngineComponentTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);
    private readonly ManualTimeProvider _time = new(T0);
    private readonly CompGridOptions _options = new() { DefaultMemoryMiBPerCpu = 256 };

    private JobRouter Router(params IComputeBackend[] backends) => new(backends, _options, _time, NullLogger.Instance);

    private static JobRecord Ended(JobState state = JobState.Completed) => new()
    {
        Id = "cg-1", Backend = "mem", BackendJobId = "b-1", State = state, Version = 3, Nodes = ["n1"],
        Spec = new JobSpec { Owner = "alice", Account = "physics", Payload = JobPayload.Command("true"), Resources = new() { Cpus = 2 } },
        SubmittedAt = T0, DispatchedAt = T0, StartedAt = T0.AddMinutes(1), EndedAt = T0.AddMinutes(11), ExitCode = 0,
    };

    [Fact]
    public void DeliveredUsage_BackendReportedNothing_BuildsTheRecordFromTheJob()
    {
        _time.SetUtcNow(T0.AddMinutes(11)); // the engine delivers usage once it has seen the job end
        var usage = new DeliveredUsage(Router(), _time, NullLogger.Instance).For(Ended(), reported: null);
        Assert.Equal(("cg-1", "alice", "physics", "mem", "b-1"), (usage.JobId, usage.User, usage.Account, usage.Backend, usage.BackendJobId));
        Assert.Equal(TimeSpan.FromMinutes(10), usage.Elapsed);
        Assert.Equal((2, 512L, 1), (usage.AllocatedCpus, usage.AllocatedMemoryMiB, usage.NodeCount)); // default memory per CPU applied
        Assert.Equal(JobState.Completed, usage.FinalState);
    }

    [Fact]
    public void DeliveredUsage_JobNeverReachedABackend_IsZero()
    {
        var job = Ended(JobState.Cancelled) with { BackendJobId = null, StartedAt = null };
        var usage = new DeliveredUsage(Router(), _time, NullLogger.Instance).For(job, reported: null);
        Assert.Equal((TimeSpan.Zero, 0, 0L, 0), (usage.Elapsed, usage.AllocatedCpus, usage.AllocatedMemoryMiB, usage.NodeCount));
        Assert.Equal(JobState.Cancelled, usage.FinalState);
    }

    // Only what routing reads: a name and capabilities.
    private sealed class CpuOnlyBackend(string name) : IComputeBackend
    {
        public string Name => name;
        public BackendCapabilities Capabilities { get; } = new() { Gpus = false, MultiNode = false };
        public Task<string> SubmitAsync(BackendJobRequest request, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task<BackendJobStatus?> GetStatusAsync(string backendJobId, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task CancelAsync(string backendJobId, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public IAsyncEnumerable<BackendJobStatus> ListJobsAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task<JobLogs> GetLogsAsync(string backendJobId, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task<IReadOnlyList<NodeInfo>> GetNodesAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task<UsageRecord?> GetUsageAsync(string backendJobId, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task CompleteAsync(string backendJobId, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }

    [Fact]
    public void JobRouter_NamedBackendWithoutGpus_NamesTheFieldAndTheRule()
    {
        var router = Router(new CpuOnlyBackend("mem"));
        var spec = new JobSpec { Owner = "a", Payload = JobPayload.Command("x"), Resources = new() { Gpus = 1 }, Constraints = new() { Backend = "mem" } };
        Assert.Null(router.Route(spec, out string? error, out string field));
        Assert.Equal("resources.gpus", field);
        Assert.Contains("has no GPUs", error, StringComparison.Ordinal);
        Assert.Null(router.Route(spec with { Constraints = new() { Backend = "nope" } }, out error, out field));
        Assert.Equal("constraints.backend", field);
        Assert.Contains("registered: mem", error, StringComparison.Ordinal);
        var gpuRouter = Router(new CpuOnlyBackend("cpu"), new InMemoryBackend("mem", _time));
        Assert.Equal("mem", gpuRouter.Route(spec with { Constraints = new() }, out _, out _)?.Name); // unnamed: the first that can run it
    }

    [Fact]
    public void JobRouter_TwoBackendsWithOneName_FailsStartUp()
    {
        var router = Router(new InMemoryBackend("mem", _time), new InMemoryBackend("mem", _time));
        var ex = Assert.Throws<CompGridException>(router.Validate);
        Assert.Contains("Two backends are named 'mem'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ActiveJobs_StaleVersion_ThrowsTransientAndTakesTheStoredRecord()
    {
        var store = new InMemoryJobStore();
        using var jobs = new ActiveJobs(store, _time, shared: false);
        var job = new JobRecord { Id = "cg-2", State = JobState.Queued, Version = 1, Spec = new JobSpec { Owner = "a" } };
        await jobs.CreateAsync(job, new JobTransition { JobId = "cg-2", To = JobState.Queued }, default);
        Assert.True(await store.TryUpdateAsync(job with { Version = 2, Reason = "operator" }, 1, null)); // another writer

        var ex = await Assert.ThrowsAsync<CompGridException>(() => jobs.SetReasonAsync(job, "mine", default));
        Assert.True(ex.IsTransient);
        Assert.True(jobs.TryGet("cg-2", out var cached));
        Assert.Equal((2L, "operator"), (cached.Version, cached.Reason));
    }

    [Fact]
    public async Task ActiveJobs_TerminalWithUsageDelivered_LeavesTheCache()
    {
        using var jobs = new ActiveJobs(new InMemoryJobStore(), _time, shared: false);
        var job = new JobRecord { Id = "cg-3", State = JobState.Running, Version = 1, Spec = new JobSpec { Owner = "a" } };
        await jobs.CreateAsync(job, new JobTransition { JobId = "cg-3", To = JobState.Running }, default);
        var ended = await jobs.TransitionAsync(job, j => j with { State = JobState.Completed }, "engine", default);
        Assert.True(jobs.TryGet("cg-3", out _)); // usage still owed
        await jobs.UpdateAsync(ended, j => j with { UsageDelivered = true }, default);
        Assert.False(jobs.TryGet("cg-3", out _));
    }

    private sealed class RecordingNotifier : IJobNotifier
    {
        public List<JobNotification> Sent { get; } = [];
        public ValueTask NotifyAsync(JobNotification notification, CancellationToken cancellationToken = default) { Sent.Add(notification); return ValueTask.CompletedTask; }
    }

    [Fact]
    public async Task JobNotificationSender_JobAsksForSomeStates_WritesOnlyThoseToTheOutbox()
    {
        var store = new InMemoryJobStore();
        var sender = new JobNotificationSender(new NotificationOutboxWriter(store, [new RecordingNotifier()], _time, NullLogger.Instance));
        var job = Ended() with { Spec = Ended().Spec with { Notifications = new NotificationSettings { OnStates = [JobState.Running] } } };
        await sender.SendAsync(job, JobState.Running); // completed: not asked for
        await sender.SendAsync(job with { State = JobState.Running }, JobState.Queued);
        var pending = await store.ClaimDueAsync(T0.AddDays(1), T0.AddDays(1).AddMinutes(1), 10);
        var n = Assert.Single(pending).Notification;
        Assert.Equal((JobState.Running, JobState.Queued, T0), (n.Job.State, n.PreviousState, n.At));
    }

    private sealed class BrokenLease : ISchedulerLease
    {
        public ValueTask<bool> TryAcquireAsync(CancellationToken cancellationToken = default) => throw new InvalidOperationException("database down");
        public ValueTask ReleaseAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
    }

    [Fact]
    public async Task SchedulerLeadership_LeaseCannotBeChecked_StandsBy()
    {
        var leadership = new SchedulerLeadership(new BrokenLease(), NullLogger.Instance);
        Assert.False(await leadership.TryLeadAsync(default));
        Assert.False(leadership.IsActive);
        Assert.True(await new SchedulerLeadership(null, NullLogger.Instance).TryLeadAsync(default)); // no lease: always active
    }
}

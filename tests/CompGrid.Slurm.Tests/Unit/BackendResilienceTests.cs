using CompGrid.Slurm.Mapping;
using CompGrid.Slurm.Resilience;
using Microsoft.Extensions.Logging.Abstractions;

namespace CompGrid.Slurm.Tests.Unit;

/// <summary>The backend over a hand-written fake client: retries, the circuit breaker, submit de-duplication, status fallbacks.</summary>
[Trait("Category", "Slurm")]
public sealed class BackendResilienceTests
{
    private static SlurmComputeBackend Create(FakeSlurmClient client, int retries = 3)
    {
        var options = new SlurmBackendOptions
        {
            OutputDirectory = "/jobs",
            MaxRetryAttempts = retries,
            RetryBaseDelay = TimeSpan.Zero,
            CircuitBreakDuration = TimeSpan.FromSeconds(30),
            AccountingWait = TimeSpan.Zero,
        };
        var pipeline = SlurmResilience.Create("fake", options, TimeProvider.System, NullLogger.Instance);
        return new SlurmComputeBackend("fake", options, client, pipeline, TimeProvider.System, NullLogger.Instance);
    }

    private static BackendJobRequest Request(string id = "cg-1") => new()
    {
        JobId = id,
        Spec = new JobSpec { Owner = "a", Payload = JobPayload.Command("true") },
        Walltime = TimeSpan.FromMinutes(1),
    };

    private static CompGridException Transient() => new("Unable to contact slurm controller") { IsTransient = true };

    [Fact]
    public async Task GetNodes_TransientFaultsThenSuccess_Retries()
    {
        var client = new FakeSlurmClient { NodeFailures = 2 };
        var nodes = await Create(client).GetNodesAsync();
        Assert.Single(nodes);
        Assert.Equal(3, client.NodeCalls);
    }

    [Fact]
    public async Task GetNodes_PermanentFault_NotRetried()
    {
        var client = new FakeSlurmClient { NodeError = new CompGridException("Invalid partition") { IsTransient = false } };
        await Assert.ThrowsAsync<CompGridException>(() => Create(client).GetNodesAsync());
        Assert.Equal(1, client.NodeCalls);
    }

    [Fact]
    public async Task Submit_AmbiguousFailureAfterTheJobWasCreated_DoesNotSubmitTwice()
    {
        var client = new FakeSlurmClient { FailAfterSubmit = true };
        string id = await Create(client).SubmitAsync(Request("cg-dup"));
        Assert.Equal("100", id);
        Assert.Single(client.Submitted);
    }

    [Fact]
    public async Task Calls_RepeatedTransientFaults_OpenTheCircuit()
    {
        var client = new FakeSlurmClient { NodeFailures = int.MaxValue };
        var backend = Create(client, retries: 0);
        for (int i = 0; i < 8; i++) await Assert.ThrowsAsync<CompGridException>(() => backend.GetNodesAsync());
        int calls = client.NodeCalls;
        var ex = await Assert.ThrowsAsync<CompGridException>(() => backend.GetNodesAsync());
        Assert.Equal("circuit-open", ex.Code);
        Assert.True(ex.IsTransient);
        Assert.Equal(calls, client.NodeCalls); // failed fast, the cluster was not called
    }

    [Fact]
    public async Task GetStatus_PurgedFromController_FallsBackToAccountingAndKeepsExitCode()
    {
        var client = new FakeSlurmClient();
        client.Live["7"] = new SlurmJobInfo { JobId = "7", State = "FAILED", ExitCode = 3, Comment = "compgrid:cg-7" };
        client.Accounting["7"] = new SlurmAccountingRecord { JobId = "7", State = "FAILED", EndedAt = DateTimeOffset.UnixEpoch.AddDays(1), Partition = "debug", Comment = "compgrid:cg-7" };
        client.Accounting["8"] = new SlurmAccountingRecord { JobId = "8", State = "COMPLETED", ExitCode = 0, EndedAt = DateTimeOffset.UnixEpoch.AddDays(1), Partition = "debug", Comment = "compgrid:cg-8" };
        var backend = Create(client);
        Assert.Equal(3, (await backend.GetStatusAsync("7"))!.ExitCode);
        client.Live.Clear(); // MinJobAge passed
        Assert.Equal(3, (await backend.GetStatusAsync("7"))!.ExitCode); // remembered from slurmctld
        var usage = await backend.GetUsageAsync("7");
        Assert.Equal(3, usage!.ExitCode);
        Assert.Equal("cg-7", usage.JobId);
        var purged = await backend.GetStatusAsync("8");
        Assert.Equal(JobState.Completed, purged!.State);
        Assert.Equal("cg-8", purged.JobId);
        Assert.Null(await backend.GetStatusAsync("9"));
        await Assert.ThrowsAsync<JobNotFoundException>(() => backend.GetUsageAsync("9"));
        Assert.Null(await backend.GetStatusAsync("9; rm -rf /"));
    }

    [Fact]
    public async Task Cancel_UnknownOrEnded_NotFoundOrNoCall()
    {
        var client = new FakeSlurmClient();
        client.Live["5"] = new SlurmJobInfo { JobId = "5", State = "COMPLETED", ExitCode = 0 };
        client.Live["6"] = new SlurmJobInfo { JobId = "6", State = "RUNNING" };
        var backend = Create(client);
        await Assert.ThrowsAsync<JobNotFoundException>(() => backend.CancelAsync("404"));
        await backend.CancelAsync("5");
        Assert.Empty(client.Cancelled);
        await backend.CancelAsync("6");
        Assert.Equal(["6"], client.Cancelled);
        await Assert.ThrowsAsync<JobNotFoundException>(() => backend.GetLogsAsync("404"));
    }

    [Fact]
    public async Task ListJobs_OnlyJobsCarryingACompGridId()
    {
        var client = new FakeSlurmClient();
        client.Live["1"] = new SlurmJobInfo { JobId = "1", State = "RUNNING", Comment = "compgrid:cg-a" };
        client.Live["2"] = new SlurmJobInfo { JobId = "2", State = "RUNNING", Comment = "someone else's" };
        var list = new List<BackendJobStatus>();
        await foreach (var s in Create(client).ListJobsAsync()) list.Add(s);
        Assert.Equal("cg-a", Assert.Single(list).JobId);
    }

    internal sealed class FakeSlurmClient : ISlurmClient
    {
        public Dictionary<string, SlurmJobInfo> Live { get; } = new();
        public Dictionary<string, SlurmAccountingRecord> Accounting { get; } = new();
        public List<SlurmJobDefinition> Submitted { get; } = [];
        public List<string> Cancelled { get; } = [];
        public int NodeFailures { get; set; }
        public CompGridException? NodeError { get; set; }
        public int NodeCalls { get; private set; }
        public bool FailAfterSubmit { get; set; }

        public Task<string> SubmitAsync(SlurmJobDefinition job, CancellationToken cancellationToken)
        {
            string id = (100 + Submitted.Count).ToString(System.Globalization.CultureInfo.InvariantCulture);
            Submitted.Add(job);
            Live[id] = new SlurmJobInfo { JobId = id, State = "PENDING", Comment = job.Comment };
            if (FailAfterSubmit) throw Transient(); // the reply was lost
            return Task.FromResult(id);
        }

        public Task<SlurmJobInfo?> GetJobAsync(string jobId, CancellationToken cancellationToken) => Task.FromResult(Live.GetValueOrDefault(jobId));

        public Task<IReadOnlyList<SlurmJobInfo>> ListJobsAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<SlurmJobInfo>>(Live.Values.ToList());

        public Task CancelAsync(string jobId, CancellationToken cancellationToken)
        {
            Cancelled.Add(jobId);
            return Task.CompletedTask;
        }

        public Task<IReadOnlyList<NodeInfo>> GetNodesAsync(string backendName, CancellationToken cancellationToken)
        {
            NodeCalls++;
            if (NodeError is not null) throw NodeError;
            if (NodeFailures-- > 0) throw Transient();
            return Task.FromResult<IReadOnlyList<NodeInfo>>([new NodeInfo { Name = "n1", Backend = backendName }]);
        }

        public Task<SlurmAccountingRecord?> GetAccountingAsync(string jobId, CancellationToken cancellationToken) => Task.FromResult(Accounting.GetValueOrDefault(jobId));

        public Task<(string Text, bool Truncated)?> ReadLogTailAsync(string directory, string fileName, int maxBytes, CancellationToken cancellationToken) =>
            Task.FromResult<(string, bool)?>(null);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

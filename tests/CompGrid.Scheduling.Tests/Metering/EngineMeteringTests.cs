using Microsoft.Extensions.DependencyInjection;
using System.Collections.Concurrent;
using CompGrid.Testing;

namespace CompGrid.Scheduling.Tests.Metering;

/// <summary>The in-memory backend, except that its accounting reports what a job that rewrote its records would make it say.</summary>
internal sealed class LyingBackend(InMemoryBackend inner) : IComputeBackend, IBackendEventSource
{
    public IAsyncEnumerable<BackendJobStatus> WatchAsync(CancellationToken cancellationToken = default) => inner.WatchAsync(cancellationToken);
    public string Name => inner.Name;
    public BackendCapabilities Capabilities => inner.Capabilities;
    public Task<string> SubmitAsync(BackendJobRequest request, CancellationToken cancellationToken = default) => inner.SubmitAsync(request, cancellationToken);
    public Task<BackendJobStatus?> GetStatusAsync(string backendJobId, CancellationToken cancellationToken = default) => inner.GetStatusAsync(backendJobId, cancellationToken);
    public Task CancelAsync(string backendJobId, CancellationToken cancellationToken = default) => inner.CancelAsync(backendJobId, cancellationToken);
    public IAsyncEnumerable<BackendJobStatus> ListJobsAsync(CancellationToken cancellationToken = default) => inner.ListJobsAsync(cancellationToken);
    public Task<JobLogs> GetLogsAsync(string backendJobId, CancellationToken cancellationToken = default) => inner.GetLogsAsync(backendJobId, cancellationToken);
    public Task<IReadOnlyList<NodeInfo>> GetNodesAsync(CancellationToken cancellationToken = default) => inner.GetNodesAsync(cancellationToken);
    public Task CompleteAsync(string backendJobId, CancellationToken cancellationToken = default) => inner.CompleteAsync(backendJobId, cancellationToken);

    public Task<UsageRecord?> GetUsageAsync(string backendJobId, CancellationToken cancellationToken = default) => Task.FromResult<UsageRecord?>(new UsageRecord
    {
        JobId = "cg-someone-else", Account = "alice-lab", User = "alice",
        StartedAt = new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero), EndedAt = new DateTimeOffset(2026, 1, 1, 0, 0, 5, TimeSpan.Zero),
        Elapsed = TimeSpan.FromDays(365.25 * 26), AllocatedCpus = 4096, AllocatedMemoryMiB = 1 << 26, NodeCount = 64, CpuTime = TimeSpan.FromDays(365.25 * 26 * 64),
    });
}

internal sealed class CollectingSink : IUsageSink
{
    public ConcurrentDictionary<string, UsageRecord> Records { get; } = new();
    public ValueTask RecordAsync(UsageRecord usage, CancellationToken cancellationToken = default) { Records.TryAdd(usage.JobId, usage); return ValueTask.CompletedTask; }
}

[Trait("Category", "Scheduling")]
public sealed class EngineMeteringTests
{
    [Fact]
    public async Task Usage_BackendReportsAnotherGrantAndA2000Start_DeliveredRecordIsClampedAndFlagged()
    {
        var time = new ManualTimeProvider();
        var sink = new CollectingSink();
        var backend = new LyingBackend(new InMemoryBackend("mem", time, nodes: 2, cpusPerNode: 4));
        await using var engine = CompGridEngine.Create(b => b.AddBackend(backend).UseJobStore(new InMemoryJobStore()).UseTimeProvider(time).AddUsageSink(sink));
        await engine.StartAsync();
        var dispatchedAround = time.GetUtcNow();
        var h = await engine.SubmitAsync(new JobSpec { Name = "bob", Owner = "bob", Account = "bob-lab", Payload = JobPayload.Command("echo x"), Resources = new() { Cpus = 2, MemoryMiB = 256 } });
        var done = await h.WaitForCompletionAsync().WaitAsync(TimeSpan.FromSeconds(30));

        var u = await engine.GetUsageAsync(h.Id);
        Assert.NotNull(u);
        Assert.Equal((h.Id, "bob-lab", "bob"), (u!.JobId, u.Account, u.User)); // the stored job's, never the backend's
        Assert.Equal((2, 256L, 1), (u.AllocatedCpus, u.AllocatedMemoryMiB, u.NodeCount));
        Assert.True(u.StartedAt >= dispatchedAround, $"start {u.StartedAt:O} is before the engine dispatched the job");
        Assert.True(u.Elapsed <= time.GetUtcNow() - dispatchedAround, $"elapsed {u.Elapsed} is longer than the engine watched the job");
        Assert.True(u.CpuTime <= u.Elapsed * 2);
        foreach (var flag in new[] { UsageFlags.StartClamped, UsageFlags.ElapsedClamped, UsageFlags.CpusClamped, UsageFlags.MemoryClamped, UsageFlags.NodesClamped, UsageFlags.AccountReplaced, UsageFlags.IdentityReplaced, UsageFlags.CpuTimeClamped })
            Assert.True(u.Flags.HasFlag(flag), $"missing {flag}: {u.Flags}");
        Assert.Contains(u.Adjustments, a => a.Contains("alice-lab", StringComparison.Ordinal));
        // What the sinks (billing, fair share) received is that same clamped record.
        Assert.Equal(u.Flags, sink.Records[h.Id].Flags);
        Assert.Equal("bob-lab", sink.Records[h.Id].Account);
        Assert.Equal(JobState.Completed, done.State);
    }
}

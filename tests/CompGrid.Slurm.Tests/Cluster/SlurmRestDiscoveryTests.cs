using CompGrid.Slurm.Rest;

namespace CompGrid.Slurm.Tests.Cluster;

/// <summary>
/// REST version discovery against the real daemons: 24.11's slurmrestd serves only v0.0.40-v0.0.42 and must work with
/// no version configured; a pinned version is used as given; a pinned version the daemon does not serve fails clearly.
/// </summary>
[Trait("Category", "Slurm24")]
[RequiresBackend(SlurmCluster.Name2411, SlurmCluster.Url2411Variable)]
public sealed class Slurm2411RestDiscoveryTests
{
    private static SlurmCluster Cluster => SlurmCluster.V2411;

    [Fact]
    public async Task NoVersionConfigured_PicksNewestServed_AndWorks()
    {
        var options = Cluster.RestOptions();
        Assert.Null(options.RestApiVersion);
        await using var client = new SlurmRestClient(options, "discover", TimeProvider.System, null, (_, _, _, _) => Task.FromResult<(string, bool)?>(null), null);
        var dialect = await client.DialectAsync(CancellationToken.None);
        Assert.Equal(Cluster.NewestRestVersion, dialect.Version);
        var nodes = await client.GetNodesAsync("discover", CancellationToken.None);
        Assert.Equal(Cluster.Nodes, nodes.Select(n => n.Name).Order());
    }

    [Theory]
    [InlineData("v0.0.40")]
    [InlineData("v0.0.41")]
    [InlineData("v0.0.42")]
    public async Task PinnedVersion_SubmitsStatusAndAccountsAJob(string version)
    {
        var options = Cluster.RestOptions();
        options.RestApiVersion = version;
        await using var backend = (IAsyncDisposable)SlurmBackend.Create("pinned-" + version, options);
        var b = (IComputeBackend)backend;
        var spec = JobRunner.Spec("pinned", JobPayload.Command("echo pinned; exit 4")) with { Resources = new() { Cpus = 1, MemoryMiB = 96, Gpus = 1 } };
        var (jobId, id) = await JobRunner.SubmitAsync(b, spec);
        var status = await JobRunner.WaitTerminalAsync(b, id);
        Assert.Equal(JobState.Failed, status.State);
        Assert.Equal(4, status.ExitCode);
        Assert.Contains(Assert.Single(status.Nodes), Cluster.GpuNodes);
        var usage = await b.GetUsageAsync(id);
        Assert.NotNull(usage);
        Assert.Equal(jobId, usage!.JobId);
        Assert.Equal(4, usage.ExitCode);
        Assert.Equal(96, usage.AllocatedMemoryMiB);
        Assert.Equal(1, usage.AllocatedGpus);
        var acct = await JobRunner.SacctAsync(Cluster, id, "State,ExitCode,AllocTRES,End");
        Assert.Equal("FAILED", acct["State"]);
        Assert.Equal("4:0", acct["ExitCode"]);
    }

    [Fact]
    public async Task PinnedVersionNotServed_FailsNamingTheVersion()
    {
        var options = Cluster.RestOptions();
        options.RestApiVersion = "v0.0.38"; // known to this package, no longer served by 24.11
        var backend = SlurmBackend.Create("pinned-old", options);
        var ex = await Assert.ThrowsAnyAsync<CompGridException>(() => backend.GetNodesAsync());
        Assert.Equal(CompGridErrorCodes.UnsupportedVersion, ex.Code);
        Assert.Contains("v0.0.38", ex.Message, StringComparison.Ordinal);
        Assert.False(ex.IsTransient);
    }
}

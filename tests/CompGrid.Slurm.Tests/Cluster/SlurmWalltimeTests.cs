using CompGrid.Slurm.Tests.Cluster;

namespace CompGrid.Slurm.Tests;

/// <summary>Walltime over the local CLI, with its accounting (a collection of its own: it waits ~1.5 min, in parallel with the rest).</summary>
[Trait("Category", "Slurm")]
[RequiresBackend(SlurmCluster.Name, SlurmCluster.UrlVariable)]
[Collection("SlurmWalltime")]
public sealed class SlurmWalltimeTests(SlurmCliFixture cli)
{
    [Fact]
    public async Task Walltime_ExceededOverLocalCli_EndsTimedOutWithUsage()
    {
        var spec = JobRunner.Spec("overtime", JobPayload.Command("sleep 600")) with { Walltime = TimeSpan.FromSeconds(30) };
        var (jobId, id) = await JobRunner.SubmitAsync(cli.Backend, spec, TimeSpan.FromSeconds(30)); // rounds up to 1 minute
        var status = await JobRunner.WaitTerminalAsync(cli.Backend, id);
        Assert.Equal(JobState.TimedOut, status.State);
        var usage = await cli.Backend.GetUsageAsync(id);
        Assert.Equal(jobId, usage!.JobId);
        Assert.Equal(JobState.TimedOut, usage.FinalState);
        Assert.InRange(usage.Elapsed, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(150));
        var acct = await JobRunner.SacctAsync(id, "State,ElapsedRaw,Timelimit,End");
        Assert.Equal("TIMEOUT", acct["State"]);
        Assert.Equal(acct["ElapsedRaw"], ((long)usage.Elapsed.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}

[CollectionDefinition("SlurmWalltime")]
public sealed class SlurmWalltimeCollection : ICollectionFixture<SlurmCliFixture>;

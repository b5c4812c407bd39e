namespace CompGrid.Slurm.Tests.Unit;

/// <summary>The Slurm backend does not stage files: a job with staging lists is refused with a clear error, never run without them.</summary>
[Trait("Category", "Slurm")]
public sealed class StagingRejectTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task SubmitAsync_WithStagingLists_ThrowsStagingUnsupportedBeforeContactingSlurm(bool inputs)
    {
        // The CLI transport: the check comes before any Slurm command runs.
        var backend = SlurmBackend.Create("campus", new SlurmBackendOptions { Transport = SlurmTransport.Cli, OutputDirectory = "/tmp/compgrid-slurm-staging-test" });
        var item = new StagingItem { Source = inputs ? "/tmp/in.txt" : "out.txt", Destination = inputs ? "in.txt" : "out.txt" };
        var spec = new JobSpec { Owner = "alice", Payload = JobPayload.Command("true"), Inputs = inputs ? [item] : [], Outputs = inputs ? [] : [item] };
        var ex = await Assert.ThrowsAsync<CompGridException>(() => backend.SubmitAsync(new BackendJobRequest { JobId = "cg-1", Spec = spec, Walltime = TimeSpan.FromMinutes(1) }));
        Assert.Equal(CompGridErrorCodes.StagingUnsupported, ex.Code);
        Assert.False(ex.IsTransient);
        Assert.Contains("inputs/outputs", ex.Message, StringComparison.Ordinal);
        Assert.Contains("campus", ex.Message, StringComparison.Ordinal);
    }
}

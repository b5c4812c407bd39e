using CompGrid.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CompGrid.Docker.Tests;

/// <summary>CompGrid's engine places container jobs on the two engines (each a node) per its placement policy.</summary>
[Collection(DockerCollection.Name)]
[Trait("Category", "Docker")]
public sealed class EnginePlacementTests(DockerEnginesFixture fixture)
{
    [BackendFact("Docker", DockerEnginesFixture.HostVariable)]
    public async Task Engine_TwoJobsFillingAnEngine_SpreadAcrossBothEnginesAndShowLogs()
    {
        var options = fixture.Options(TimeSpan.FromSeconds(30), DockerEnginesFixture.Engine("lab-a", fixture.Host1), DockerEnginesFixture.Engine("lab-b", fixture.Host2));
        await using var grid = CompGridEngine.Create(b =>
        {
            b.Services.AddSingleton<IJobStore>(new InMemoryJobStore());
            b.AddDockerBackend("lab", o =>
            {
                o.Engines = options.Engines;
                o.DefaultImage = options.DefaultImage;
                o.StopTimeout = options.StopTimeout;
                o.OutputDirectory = options.OutputDirectory;
                o.LogDirectory = options.LogDirectory;
            });
            b.Configure(o => o.PollInterval = TimeSpan.FromMilliseconds(200));
        });
        await grid.StartAsync();
        var nodes = await grid.GetNodesAsync();
        int cpusPerEngine = nodes.Where(n => n.Backend == "lab").Min(n => n.Capacity.Cpus);

        // Each job takes a whole engine, so first-fit must put the second one on the other engine.
        var spec = new JobSpec
        {
            Name = "spread",
            Owner = "carol",
            Payload = JobPayload.Container(fixture.Image, "sh", "-c", "sleep 2; echo ran-with-$(nproc)-cpus"),
            Resources = new() { Cpus = cpusPerEngine, MemoryMiB = 64 },
            Constraints = new() { Backend = "lab" },
        };
        var first = await grid.SubmitAsync(spec);
        var second = await grid.SubmitAsync(spec with { Name = "spread2" });
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var a = await grid.WaitForCompletionAsync(first.Id, cts.Token);
        var b2 = await grid.WaitForCompletionAsync(second.Id, cts.Token);
        Assert.Equal(JobState.Completed, a.State);
        Assert.Equal(JobState.Completed, b2.State);
        Assert.Equal(["lab-a", "lab-b"], a.Nodes.Concat(b2.Nodes).Order().ToArray());
        Assert.Contains($"ran-with-{cpusPerEngine}-cpus", (await grid.GetLogsAsync(first.Id)).StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"ran-with-{cpusPerEngine}-cpus", (await grid.GetLogsAsync(second.Id)).StandardOutput, StringComparison.Ordinal);
        var usage = await grid.GetUsageAsync(first.Id);
        Assert.NotNull(usage);
        Assert.Equal("lab", usage.Backend);
        Assert.Equal(cpusPerEngine, usage.AllocatedCpus);
    }
}

using CompGrid.Slurm.Tests.Cluster;
using CompGrid.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CompGrid.Slurm.Tests;

/// <summary>The real engine driving the real cluster (what the sample host does): submit, list, logs, usage, cancel.</summary>
[Trait("Category", "Slurm")]
[RequiresBackend(SlurmCluster.Name, SlurmCluster.UrlVariable)]
[Collection("SlurmScenarios")]
public sealed class SlurmEngineTests
{
    [Fact]
    public async Task Engine_SubmitListLogsUsageCancel_ThroughSlurmOverSsh()
    {
        await using var grid = CompGridEngine.Create(b =>
        {
            b.Services.AddSingleton<IJobStore, InMemoryJobStore>();
            b.AddSlurmBackend("campus", o =>
            {
                var ssh = SlurmCluster.V2205.SshOptions();
                foreach (var p in typeof(SlurmBackendOptions).GetProperties().Where(p => p.CanWrite)) p.SetValue(o, p.GetValue(ssh));
            });
            b.Configure(o =>
            {
                o.DefaultBackend = "campus";
                o.PollInterval = TimeSpan.FromMilliseconds(500);
                o.DefaultWalltime = TimeSpan.FromMinutes(5);
            });
        });
        await grid.StartAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));

        var echo = await grid.SubmitAsync(new JobSpec
        {
            Name = "engine-echo",
            Owner = SlurmCluster.TestUser,
            Account = "GR-PHYS-1",
            Payload = JobPayload.Command("echo engine-says-hi; sleep 1"),
            Resources = new() { Cpus = 2, MemoryMiB = 128 },
        }, timeout.Token);
        var done = await grid.WaitForCompletionAsync(echo.Id, timeout.Token);
        Assert.Equal(JobState.Completed, done.State);
        Assert.Equal(0, done.ExitCode);
        Assert.Equal("campus", done.Backend);
        Assert.NotNull(done.BackendJobId);
        Assert.Contains("engine-says-hi", (await grid.GetLogsAsync(echo.Id, timeout.Token)).StandardOutput, StringComparison.Ordinal);
        var usage = await grid.GetUsageAsync(echo.Id, timeout.Token);
        Assert.NotNull(usage);
        Assert.Equal(2, usage!.AllocatedCpus);
        Assert.Equal(128, usage.AllocatedMemoryMiB);
        Assert.Equal("GR-PHYS-1", usage.Account); // the delivered record names the stored job's grant (it ran in the mapped Slurm account "physics")
        Assert.True(usage.Tres.ContainsKey("billing"));

        var sleeper = await grid.SubmitAsync(new JobSpec
        {
            Name = "engine-sleeper",
            Owner = SlurmCluster.TestUser,
            Payload = JobPayload.Command("sleep 300"),
        }, timeout.Token);
        while ((await grid.GetJobAsync(sleeper.Id, timeout.Token))!.State != JobState.Running) await Task.Delay(300, timeout.Token);
        var listed = new List<JobRecord>();
        await foreach (var j in grid.ListJobsAsync(null, timeout.Token)) listed.Add(j);
        Assert.Contains(listed, j => j.Id == echo.Id);
        Assert.Contains(listed, j => j.Id == sleeper.Id && j.State == JobState.Running);
        await grid.CancelAsync(sleeper.Id, SlurmCluster.TestUser, timeout.Token);
        var cancelled = await grid.WaitForCompletionAsync(sleeper.Id, timeout.Token);
        Assert.Equal(JobState.Cancelled, cancelled.State);
    }
}

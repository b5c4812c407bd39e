using System.Text.Json.Nodes;
using CompGrid.Testing;

namespace CompGrid.SampleHost.Tests;

[Trait("Category", "Docker")]
public sealed class SampleHostDockerTests
{
    [BackendFact("Docker", "COMPGRID_DOCKER_HOST_2")]
    public async Task TwoEngines_ContainerJobsRunOnBothAndShowTheirLogs()
    {
        string engine1 = BackendEnvironment.Get("COMPGRID_DOCKER_HOST_1", "Docker");
        string engine2 = BackendEnvironment.Get("COMPGRID_DOCKER_HOST_2", "Docker");
        string image = BackendEnvironment.Get("COMPGRID_DOCKER_IMAGE", "Docker");
        await using var host = new HostProcess(null,
            "--CompGrid:Stewardship:MaxCpus=64",
            // The operator lets users choose this backend and the test registry (the job policy denies both by default).
            "--CompGrid:Policy:Default:AllowedBackends:0=lab", "--CompGrid:Policy:Default:AllowedRegistries:0=*",
            "--CompGrid:Docker:Name=lab", $"--CompGrid:Docker:DefaultImage={image}",
            "--CompGrid:Docker:Engines:0:Name=lab-a", $"--CompGrid:Docker:Engines:0:Endpoint={engine1}",
            "--CompGrid:Docker:Engines:1:Name=lab-b", $"--CompGrid:Docker:Engines:1:Endpoint={engine2}");
        await host.StartAsync();
        using var alice = host.Client("dev-alice-token");

        var nodes = JsonNode.Parse(await alice.GetStringAsync("/api/nodes"))!.AsArray();
        var lab = nodes.Where(n => n!["backend"]!.GetValue<string>() == "lab").ToList();
        Assert.Equal(2, lab.Count);
        int cpus = lab.Min(n => n!["capacity"]!["cpus"]!.GetValue<int>());

        // Each job takes a whole engine, so the placement core must use both.
        var ids = new List<string>();
        foreach (string word in new[] { "first", "second" })
        {
            var job = await alice.PostJobAsync(new { name = word, image, arguments = new[] { "sh", "-c", $"sleep 2; echo container-{word}" }, cpus, memoryMiB = 64, backend = "lab" });
            ids.Add(job["id"]!.GetValue<string>());
        }
        var done = new List<JsonObject>();
        foreach (string id in ids) done.Add(await alice.WaitForStateAsync(id, HttpJson.Terminal.Contains, TimeSpan.FromSeconds(90)));
        Assert.All(done, d => Assert.Equal("Completed", d["state"]!.GetValue<string>()));
        var usedNodes = done.Select(d => d["nodes"]![0]!.GetValue<string>()).ToHashSet();
        Assert.Equal(new HashSet<string> { "lab-a", "lab-b" }, usedNodes);
        Assert.Contains("container-first", await alice.GetStringAsync($"/api/jobs/{ids[0]}/logs"), StringComparison.Ordinal);
        Assert.Contains("container-second", await alice.GetStringAsync($"/api/jobs/{ids[1]}/logs"), StringComparison.Ordinal);
    }
}

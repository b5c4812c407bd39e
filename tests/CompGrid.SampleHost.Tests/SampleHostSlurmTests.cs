using System.Text.Json.Nodes;
using CompGrid.Testing;

namespace CompGrid.SampleHost.Tests;

[Trait("Category", "Slurm")]
public sealed class SampleHostSlurmTests
{
    [BackendFact("Slurm", "COMPGRID_SLURM_SSH_HOST")]
    public async Task SlurmOverSsh_JobRunsOnTheClusterWithLogsAndNodes()
    {
        string Env(string v) => BackendEnvironment.Get(v, "Slurm");
        await using var host = new HostProcess(null,
            "--CompGrid:Slurm:campus:Transport=Ssh",
            "--CompGrid:Policy:Default:AllowedBackends:0=campus",   // the operator lets users choose the cluster
            $"--CompGrid:Slurm:campus:SshHost={Env("COMPGRID_SLURM_SSH_HOST")}",
            $"--CompGrid:Slurm:campus:SshPort={Env("COMPGRID_SLURM_SSH_PORT")}",
            $"--CompGrid:Slurm:campus:SshUser={Env("COMPGRID_SLURM_SSH_USER")}",
            $"--CompGrid:Slurm:campus:SshIdentityFile={Env("COMPGRID_SLURM_SSH_KEY")}",
            $"--CompGrid:Slurm:campus:SshKnownHostsFile={Env("COMPGRID_SLURM_SSH_KNOWN_HOSTS")}",
            $"--CompGrid:Slurm:campus:OutputDirectory={Env("COMPGRID_SLURM_JOBS_DIR")}",
            $"--CompGrid:Slurm:campus:DefaultAccount={Env("COMPGRID_SLURM_ACCOUNT")}",
            "--CompGrid:Slurm:campus:DefaultPartition=debug");
        await host.StartAsync();
        using var alice = host.Client("dev-alice-token");

        var nodes = JsonNode.Parse(await alice.GetStringAsync("/api/nodes"))!.AsArray();
        Assert.Equal(4, nodes.Count(n => n!["backend"]!.GetValue<string>() == "campus"));

        var job = await alice.PostJobAsync(new { name = "on-slurm", command = "echo from-slurm; hostname", cpus = 1, backend = "campus", walltimeSeconds = 120 });
        string id = job["id"]!.GetValue<string>();
        var done = await alice.WaitForStateAsync(id, HttpJson.Terminal.Contains, TimeSpan.FromSeconds(120));
        Assert.Equal("Completed", done["state"]!.GetValue<string>());
        Assert.Contains("from-slurm", await alice.GetStringAsync($"/api/jobs/{id}/logs"), StringComparison.Ordinal);
        // The usage record follows the terminal state once slurmdbd has the job's accounting.
        string text = "";
        for (int i = 0; i < 300 && text.Length == 0; i++)
        {
            text = await alice.GetStringAsync($"/api/jobs/{id}/usage");
            if (text.Length == 0) await Task.Delay(100);
        }
        var usage = JsonNode.Parse(text)!;
        Assert.Equal("campus", usage["backend"]!.GetValue<string>());
    }
}

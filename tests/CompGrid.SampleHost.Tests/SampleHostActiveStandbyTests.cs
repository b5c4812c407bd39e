using CompGrid.Testing;

namespace CompGrid.SampleHost.Tests;

/// <summary>
/// Two portal processes on one PostgreSQL database sharing the local backend's state directory (both see the same
/// job directories): one schedules, the other stands by and takes over when the first is killed.
/// </summary>
[Trait("Category", "PostgreSql")]
public sealed class SampleHostActiveStandbyTests
{
    [BackendFact("PostgreSQL", "COMPGRID_POSTGRES_CONNECTION")]
    public async Task ActiveHostKilled_StandbyTakesOverAndFinishesTheJobOnce()
    {
        string connection = BackendEnvironment.Get("COMPGRID_POSTGRES_CONNECTION", "PostgreSQL");
        string schema = "ha_" + Guid.NewGuid().ToString("N")[..8];
        string shared = Path.Combine(Path.GetTempPath(), "cg-ha-local-" + Guid.NewGuid().ToString("N")[..8]);
        string[] args =
        [
            $"--CompGrid:PostgreSql:ConnectionString={connection}", $"--CompGrid:PostgreSql:Schema={schema}",
            $"--CompGrid:Local:StateDirectory={shared}",
        ];
        await using var active = new HostProcess(null, args);
        await active.StartAsync();
        await using var standby = new HostProcess(null, args);
        await standby.StartAsync();
        using var viaStandby = standby.Client("dev-alice-token");
        using var viaActive = active.Client(null);
        Assert.Equal("ok active", await viaActive.GetStringAsync("/healthz"));
        Assert.Equal("ok standby", await viaStandby.GetStringAsync("/healthz"));

        // Submitted through the standby; the active instance dispatches it.
        var job = await viaStandby.PostJobAsync(new { name = "ha", command = "sleep 4; echo survived-failover", cpus = 1, account = "alice-lab", walltimeSeconds = 120 });
        string id = job["id"]!.GetValue<string>();
        await viaStandby.WaitForStateAsync(id, s => s == "Running", TimeSpan.FromSeconds(30));

        await active.KillAsync(); // PostgreSQL drops its session, and the scheduler lock with it
        var done = await viaStandby.WaitForStateAsync(id, HttpJson.Terminal.Contains, TimeSpan.FromSeconds(60));
        Assert.Equal("Completed", done["state"]!.GetValue<string>());
        Assert.Equal("ok active", await viaStandby.GetStringAsync("/healthz"));
        Assert.Contains("survived-failover", await viaStandby.GetStringAsync($"/api/jobs/{id}/logs"), StringComparison.Ordinal);

        // Charged exactly once, by whichever instance settled it.
        string statement = "";
        for (int i = 0; i < 100 && !statement.Contains(id, StringComparison.Ordinal); i++)
        {
            statement = await viaStandby.GetStringAsync("/api/grants/alice-lab/statement?format=csv");
            if (!statement.Contains(id, StringComparison.Ordinal)) await Task.Delay(100);
        }
        Assert.Equal(1, statement.Split('\n').Count(line => line.Contains(id, StringComparison.Ordinal)));
    }
}

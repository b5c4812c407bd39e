using CompGrid.Testing;

namespace CompGrid.SampleHost.Tests;

[Trait("Category", "PostgreSql")]
public sealed class SampleHostPostgreSqlTests
{
    [BackendFact("PostgreSQL", "COMPGRID_POSTGRES_CONNECTION")]
    public async Task PostgreSqlStore_JobsSurviveAHostCrash()
    {
        string connection = BackendEnvironment.Get("COMPGRID_POSTGRES_CONNECTION", "PostgreSQL");
        string schema = "host_" + Guid.NewGuid().ToString("N")[..8];
        string data = Path.Combine(Path.GetTempPath(), "cg-pg-host-" + Guid.NewGuid().ToString("N")[..8]);
        string[] args = [$"--CompGrid:PostgreSql:ConnectionString={connection}", $"--CompGrid:PostgreSql:Schema={schema}"];
        string id;
        await using (var first = new HostProcess(data, args))
        {
            await first.StartAsync();
            using var alice = first.Client("dev-alice-token");
            var job = await alice.PostJobAsync(new { command = "sleep 3; echo on-postgres", cpus = 1, account = "alice-lab", walltimeSeconds = 60 });
            id = job["id"]!.GetValue<string>();
            await alice.WaitForStateAsync(id, s => s == "Running", TimeSpan.FromSeconds(20));
            await first.KillAsync();
        }
        // A fresh data directory holds no SQLite file: the job can only come back from PostgreSQL.
        File.Delete(Path.Combine(data, "compgrid.db"));
        await using var second = new HostProcess(data, args);
        await second.StartAsync();
        using var client = second.Client("dev-alice-token");
        var done = await client.WaitForStateAsync(id, HttpJson.Terminal.Contains, TimeSpan.FromSeconds(30));
        Assert.Equal("Completed", done["state"]!.GetValue<string>());
        Assert.Contains("on-postgres", await client.GetStringAsync($"/api/jobs/{id}/logs"), StringComparison.Ordinal);
        // The charge follows the terminal state once the usage record is delivered.
        string statement = "";
        for (int i = 0; i < 100 && !statement.Contains(id, StringComparison.Ordinal); i++)
        {
            statement = await client.GetStringAsync("/api/grants/alice-lab/statement?format=csv");
            if (!statement.Contains(id, StringComparison.Ordinal)) await Task.Delay(100);
        }
        Assert.Contains(id, statement, StringComparison.Ordinal);
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace CompGrid.SampleHost.Tests;

/// <summary>The sample host as configured out of the box, with the multifactor ordering (for /priority) and room for a long simulation.</summary>
public sealed class AttackHostFixture() : ConfiguredHostFixture(
    "--CompGrid:QueueOrdering=multifactor",
    "--CompGrid:Limits:MaxRequestBodyBytes=65536",
    "--CompGrid:Limits:MaxSimulationJobs=2000000",
    "--CompGrid:Limits:MaxSimulationDuration=00:05:00");

/// <summary>Issue 9's attacks on the HTTP API (validation, the policy layer, bounded work), each against the real host.</summary>
[Trait("Category", "SampleHost")]
public sealed class AttackTests(AttackHostFixture fixture) : IClassFixture<AttackHostFixture>
{
    private HttpClient Alice => fixture.Host.Client("dev-alice-token");
    private HttpClient Bob => fixture.Host.Client("dev-bob-token");
    private HttpClient Admin => fixture.Host.Client("dev-admin-token");

    [Fact]
    public async Task Overflow_46341CpusTimes46341Nodes_400NamingCpus_NoJobNoHold()
    {
        int jobsBefore = await CountJobsAsync();
        decimal heldBefore = await HeldAsync("alice-lab");
        var body = new { command = "true", cpus = 46341, nodes = 46341, walltimeSeconds = 60, account = "alice-lab" };

        var problem = await ExpectAsync(Alice, "/api/jobs", body, HttpStatusCode.BadRequest);
        Assert.Contains("cpus × nodes", problem["errors"]!["cpus"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        problem = await ExpectAsync(Alice, "/api/quotes", body, HttpStatusCode.BadRequest);
        Assert.NotNull(problem["errors"]!["cpus"]);
        // memory × nodes and gpus × nodes are checked the same way.
        problem = await ExpectAsync(Alice, "/api/jobs", new { command = "true", memoryMiB = 1L << 26, nodes = 100_000 }, HttpStatusCode.BadRequest);
        Assert.NotNull(problem["errors"]!["memoryMiB"]);

        Assert.Equal(jobsBefore, await CountJobsAsync());
        Assert.Equal(heldBefore, await HeldAsync("alice-lab"));
    }

    [Fact]
    public async Task HugeWalltime_1e12Seconds_400NamingWalltimeSeconds()
    {
        int jobsBefore = await CountJobsAsync();
        var problem = await ExpectAsync(Alice, "/api/jobs", new { command = "true", walltimeSeconds = 1_000_000_000_000L }, HttpStatusCode.BadRequest);
        Assert.NotNull(problem["errors"]!["walltimeSeconds"]);
        Assert.DoesNotContain("   at ", problem.ToJsonString(), StringComparison.Ordinal);   // no stack trace
        problem = await ExpectAsync(Alice, "/api/quotes", new { walltimeSeconds = long.MaxValue, account = "alice-lab" }, HttpStatusCode.BadRequest);
        Assert.NotNull(problem["errors"]!["walltimeSeconds"]);
        Assert.Equal(jobsBefore, await CountJobsAsync());
    }

    [Fact]
    public async Task UserNiceMinus10000_403NamingNice_AdminAllowed()
    {
        var problem = await ExpectAsync(Alice, "/api/jobs", new { command = "true", nice = -10_000 }, HttpStatusCode.Forbidden);
        Assert.Contains("at least 0", problem["errors"]!["nice"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("policy-denied", problem["code"]!.GetValue<string>());
        await ExpectAsync(Alice, "/api/jobs", new { command = "true", nice = 5 }, HttpStatusCode.Created);

        var job = await ExpectAsync(Admin, "/api/jobs", new { command = "true", nice = -10_000 }, HttpStatusCode.Created);
        Assert.Equal(-10_000, job["spec"]!["nice"]!.GetValue<int>());
    }

    [Fact]
    public async Task UserQosScavengerOrBackendChoice_403NamingTheField_NoHold_AdminAllowed()
    {
        decimal heldBefore = await HeldAsync("alice-lab");
        var problem = await ExpectAsync(Alice, "/api/jobs", new { command = "true", qos = "scavenger", account = "alice-lab", walltimeSeconds = 60 }, HttpStatusCode.Forbidden);
        Assert.Contains("scavenger", problem["errors"]!["qos"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(heldBefore, await HeldAsync("alice-lab"));
        problem = await ExpectAsync(Alice, "/api/quotes", new { qos = "scavenger", account = "alice-lab", walltimeSeconds = 60 }, HttpStatusCode.Forbidden);
        Assert.NotNull(problem["errors"]!["qos"]);
        problem = await ExpectAsync(Alice, "/api/jobs", new { command = "true", backend = "local", cpus = 65 }, HttpStatusCode.Forbidden);
        Assert.NotNull(problem["errors"]!["backend"]);
        Assert.NotNull(problem["errors"]!["cpus"]);

        var job = await ExpectAsync(Admin, "/api/jobs", new { command = "true", qos = "scavenger", backend = "local" }, HttpStatusCode.Created);
        Assert.Equal("scavenger", job["spec"]!["qos"]!.GetValue<string>());
    }

    [Fact]
    public async Task OtherUsersPriority_404_OwnerAndAdminSeeIt()
    {
        // An approved 8-CPU blocker fills the node, so alice's job stays Queued and has a priority to explain.
        var blocker = await ExpectAsync(Admin, "/api/jobs", new { command = "sleep 60", cpus = 8 }, HttpStatusCode.Created);
        string blockerId = blocker["id"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.OK, (await Admin.PostAsJsonAsync($"/api/jobs/{blockerId}/approve", new { reason = "blocker" })).StatusCode);
        await Admin.WaitForStateAsync(blockerId, s => s == "Running", TimeSpan.FromSeconds(30));
        string id = (await ExpectAsync(Alice, "/api/jobs", new { command = "true" }, HttpStatusCode.Created))["id"]!.GetValue<string>();
        try
        {
            Assert.Equal(HttpStatusCode.OK, (await Alice.GetAsync($"/api/jobs/{id}/priority")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await Admin.GetAsync($"/api/jobs/{id}/priority")).StatusCode);
            var r = await Bob.GetAsync($"/api/jobs/{id}/priority");
            Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
            Assert.DoesNotContain("factors", await r.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
            foreach (string path in new[] { "", "/history", "/usage", "/logs" })
                Assert.Equal(HttpStatusCode.NotFound, (await Bob.GetAsync($"/api/jobs/{id}{path}")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await Bob.PostAsync($"/api/jobs/{id}/cancel", null)).StatusCode);
            Assert.Equal("Queued", (await Alice.GetJobAsync(id))["state"]!.GetValue<string>());
        }
        finally
        {
            await Admin.PostAsync($"/api/jobs/{blockerId}/cancel", null);
            await Alice.PostAsync($"/api/jobs/{id}/cancel", null);
        }
    }

    [Fact]
    public async Task JobReadingTheHostsOwnDatabase_IsDenied()
    {
        // The real sample host's data directory and SQLite file (0711 and 0600, set by Program.cs), read by a job.
        string data = fixture.Host.DataDirectory, db = Path.Combine(data, "compgrid.db");
        Assert.True(File.Exists(db), "the host keeps its jobs in " + db);
        var job = await Alice.PostJobAsync(new
        {
            executable = "/bin/sh",
            arguments = new[] { "-c", "id -u; head -c 16 \"$1\"; echo read=$?; ls \"$2\"; echo list=$?", "job", db, data },
            cpus = 1,
        });
        string id = job["id"]!.GetValue<string>();
        var done = await Alice.WaitForStateAsync(id, HttpJson.Terminal.Contains, TimeSpan.FromSeconds(60));
        Assert.Equal("Completed", done["state"]!.GetValue<string>());
        string logs = await Alice.GetStringAsync($"/api/jobs/{id}/logs");
        Assert.DoesNotContain("SQLite format", logs, StringComparison.Ordinal);
        Assert.Matches(@"read=[1-9]", logs);
        Assert.Matches(@"list=[1-9]", logs);
        Assert.DoesNotMatch(@"(?m)^0$", logs);   // not root
    }

    [Fact]
    public async Task OversizedBody_413_HugeEnvironment_400NamingEnvironment()
    {
        int jobsBefore = await CountJobsAsync();
        string big = "{\"command\":\"true\",\"name\":\"" + new string('x', 100_000) + "\"}";
        var r = await Alice.PostAsync("/api/jobs", new StringContent(big, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, r.StatusCode);
        Assert.Contains("65536", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var environment = Enumerable.Range(0, 2000).ToDictionary(i => $"V{i}", _ => "x");
        var problem = await ExpectAsync(Alice, "/api/jobs", new { command = "true", environment }, HttpStatusCode.BadRequest);
        Assert.Contains("at most 1024", problem["errors"]!["environment"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(jobsBefore, await CountJobsAsync());
    }

    [Fact]
    public async Task MalformedBodiesFromTheIssue_400NamingTheField_Never500()
    {
        var problem = await ExpectAsync(Alice, "/api/jobs", new { command = "true", webhook = "x" }, HttpStatusCode.BadRequest);
        Assert.NotNull(problem["errors"]!["webhook"]);
        problem = await ExpectRawAsync(Admin, "/api/grants/alice-lab/adjustments", "[1, 2, 3]", HttpStatusCode.BadRequest);
        Assert.NotNull(problem["errors"]!["body"]);
        problem = await ExpectRawAsync(Alice, "/api/simulations", "\"run everything\"", HttpStatusCode.BadRequest);
        Assert.NotNull(problem["errors"]!["body"]);
        problem = await ExpectRawAsync(Alice, "/api/jobs", "{\"command\":\"true\",\"environment\":[\"A=1\"]}", HttpStatusCode.BadRequest);
        Assert.NotNull(problem["errors"]!["environment"]);
        problem = await ExpectRawAsync(Admin, "/api/grants/alice-lab/adjustments", "{\"amount\":1e400,\"reason\":\"x\"}", HttpStatusCode.BadRequest);
        Assert.NotNull(problem["errors"]!["amount"]);
        problem = await ExpectRawAsync(Admin, "/api/grants", "{\"code\":null,\"principalInvestigator\":\"bob\",\"members\":null}", HttpStatusCode.BadRequest);
        Assert.NotNull(problem["errors"]!["code"]);
        Assert.NotNull(problem["errors"]!["members"]);
        problem = await ExpectAsync(Alice, "/api/simulations", new { jobs = 10, nodes = 1_000_000 }, HttpStatusCode.BadRequest);
        Assert.NotNull(problem["errors"]!["nodes"]);
    }

    [Fact]
    public async Task CancelledSimulationRequest_StopsTheSimulator()
    {
        using var cts = new CancellationTokenSource();
        var request = Alice.PostAsJsonAsync("/api/simulations", new { seed = 7, jobs = 1_500_000, nodes = 16 }, cts.Token);
        Assert.True(await fixture.Host.WaitForOutputAsync("Simulation started for alice: 1500000 jobs", TimeSpan.FromSeconds(60)), fixture.Host.OutputText);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        Assert.True(await fixture.Host.WaitForOutputAsync("Simulation cancelled for alice: 1500000 jobs", TimeSpan.FromSeconds(30)), fixture.Host.OutputText);
        Assert.DoesNotContain("Simulation finished for alice: 1500000 jobs", fixture.Host.OutputText, StringComparison.Ordinal);
    }

    private async Task<int> CountJobsAsync() => (await Admin.GetFromJsonAsync<JsonArray>("/api/jobs?limit=10000"))!.Count;

    private async Task<decimal> HeldAsync(string grant) =>
        JsonNode.Parse(await Admin.GetStringAsync($"/api/grants/{grant}"))!["balance"]!["held"]!.GetValue<decimal>();

    private static async Task<JsonObject> ExpectAsync(HttpClient http, string path, object body, HttpStatusCode expected)
    {
        var r = await http.PostAsJsonAsync(path, body);
        string text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == expected, $"POST {path}: expected {(int)expected}, got {(int)r.StatusCode}: {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    private static async Task<JsonObject> ExpectRawAsync(HttpClient http, string path, string json, HttpStatusCode expected)
    {
        var r = await http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        string text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == expected, $"POST {path} {json}: expected {(int)expected}, got {(int)r.StatusCode}: {text}");
        return JsonNode.Parse(text)!.AsObject();
    }
}

/// <summary>A host whose submit and simulation limits are small, to hit them.</summary>
public sealed class RateLimitHostFixture() : ConfiguredHostFixture(
    "--CompGrid:Limits:Submit:PermitLimit=3", "--CompGrid:Limits:Submit:Window=01:00:00",
    "--CompGrid:Limits:Simulation:PermitLimit=1", "--CompGrid:Limits:Simulation:Window=01:00:00",
    "--CompGrid:Limits:Quote:PermitLimit=2", "--CompGrid:Limits:Quote:Window=01:00:00");

[Trait("Category", "SampleHost")]
public sealed class RateLimitTests(RateLimitHostFixture fixture) : IClassFixture<RateLimitHostFixture>
{
    [Fact]
    public async Task SubmitBurst_429WithRetryAfter_OtherUserUnaffected()
    {
        using var alice = fixture.Host.Client("dev-alice-token");
        using var bob = fixture.Host.Client("dev-bob-token");
        for (int i = 0; i < 3; i++) await alice.PostJobAsync(new { command = "true" });
        var r = await alice.PostAsJsonAsync("/api/jobs", new { command = "true" });
        Assert.Equal(HttpStatusCode.TooManyRequests, r.StatusCode);
        Assert.True(r.Headers.RetryAfter?.Delta is { } after && after > TimeSpan.Zero && after <= TimeSpan.FromHours(1), r.Headers.ToString());
        Assert.Contains("alice", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await bob.PostJobAsync(new { command = "true" });   // a partition per user
        // Refused before the body is read: even a valid submission is not stored.
        Assert.Equal(3, (await alice.GetFromJsonAsync<JsonArray>("/api/jobs"))!.Count);
    }

    [Fact]
    public async Task QuoteBurst_429WithRetryAfter()
    {
        using var alice = fixture.Host.Client("dev-alice-token");
        var body = new { cpus = 1, walltimeSeconds = 60, account = "alice-lab" };
        for (int i = 0; i < 2; i++) Assert.Equal(HttpStatusCode.OK, (await alice.PostAsJsonAsync("/api/quotes", body)).StatusCode);
        var r = await alice.PostAsJsonAsync("/api/quotes", body);
        Assert.Equal(HttpStatusCode.TooManyRequests, r.StatusCode);
        Assert.NotNull(r.Headers.RetryAfter);
    }

    [Fact]
    public async Task SimulationBurst_429()
    {
        using var bob = fixture.Host.Client("dev-bob-token");
        Assert.Equal(HttpStatusCode.OK, (await bob.PostAsJsonAsync("/api/simulations", new { jobs = 10 })).StatusCode);
        var r = await bob.PostAsJsonAsync("/api/simulations", new { jobs = 10 });
        Assert.Equal(HttpStatusCode.TooManyRequests, r.StatusCode);
        Assert.NotNull(r.Headers.RetryAfter);
    }
}

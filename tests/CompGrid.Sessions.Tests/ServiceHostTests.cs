using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CompGrid.SampleHost.Tests;

namespace CompGrid.Sessions.Tests;

/// <summary>
/// The sample host as a real process on 127.0.0.1 with the Local backend, a short poll and a 3-second rate window; the
/// service replicas are Debian's python3 http.server, each writing its pid to the file it serves.
/// </summary>
public sealed class ServiceHostFixture() : ConfiguredHostFixture(
    "--CompGrid:Services:PollInterval=00:00:00.200", "--CompGrid:Services:RateWindow=00:00:03",
    "--CompGrid:Services:ScaleDownCoolDown=00:10:00", "--CompGrid:Services:StartGrace=00:00:30", "--CompGrid:Services:ReplicaWalltime=01:00:00");

/// <summary>A two-replica service through the portal's proxy: owner-only, survives a killed replica, scales up under loopback load.</summary>
[Trait("Category", "Services")]
public sealed class ServiceHostTests(ServiceHostFixture fixture) : IClassFixture<ServiceHostFixture>
{
    // $$ is the shell's pid, which exec hands to the server: the pid the test kills is the replica's process.
    internal const string PidServer = "echo $$ > pid.txt; exec /usr/bin/python3 -m http.server \"$PORT\" --bind 127.0.0.1";

    private HttpClient Alice => fixture.Host.Client("dev-alice-token");

    [Fact]
    public async Task Service_ReachableThroughProxy_SurvivesAKilledReplica_AndScalesUpUnderLoad()
    {
        using var alice = Alice;
        var deployed = await alice.PostAsJsonAsync("/api/services", new
        {
            name = "web", command = PidServer, replicas = 2, maxReplicas = 3, targetRequestsPerSecond = 5,
            healthIntervalSeconds = 0.5, healthTimeoutSeconds = 0.5, unhealthyAfter = 2, account = "alice-lab",
        });
        string text = await deployed.Content.ReadAsStringAsync();
        Assert.True(deployed.StatusCode == HttpStatusCode.Created, text);
        Assert.DoesNotContain("upstream", text, StringComparison.OrdinalIgnoreCase);   // replica addresses stay in the portal

        var service = await WaitForAsync(alice, s => Healthy(s) == 2, "two healthy replicas");
        foreach (var r in service["replicas"]!.AsArray())
            Assert.Equal("alice", (await alice.GetJobAsync(r!["jobId"]!.GetValue<string>()))["spec"]!["owner"]!.GetValue<string>());

        // Only the owner gets through; the caller's credentials never reach the replica.
        using (var bob = fixture.Host.Client("dev-bob-token")) Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync("/services/web/")).StatusCode);
        using (var nobody = fixture.Host.Client(null)) Assert.Equal(HttpStatusCode.Unauthorized, (await nobody.GetAsync("/services/web/")).StatusCode);

        // Round robin over both: each replica answers with its own pid.
        var pids = new HashSet<int>();
        for (int i = 0; i < 6; i++) pids.Add(await PidAsync(alice));
        Assert.Equal(2, pids.Count);

        // Kill one replica's process: every request still succeeds, and the manager replaces it.
        int victim = pids.First();
        using (var p = Process.GetProcessById(victim)) { p.Kill(); await p.WaitForExitAsync(); }
        for (int i = 0; i < 10; i++)
            Assert.NotEqual(victim, await PidAsync(alice));
        service = await WaitForAsync(alice, s => s["restarts"]!.GetValue<int>() >= 1 && Healthy(s) == 2, "the killed replica replaced");
        Assert.True(service["jobIds"]!.AsArray().Count == 3, service.ToJsonString() + fixture.Host.OutputText);

        // Load on loopback through the proxy: far above 5 requests/s per replica over the 3 s window, so a third starts.
        using var load = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        int ok = 0, failed = 0;
        var workers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            using var http = Alice;
            while (!load.IsCancellationRequested)
            {
                try
                {
                    var r = await http.GetAsync("/services/web/pid.txt", load.Token);
                    if (r.IsSuccessStatusCode) Interlocked.Increment(ref ok); else Interlocked.Increment(ref failed);
                }
                catch (OperationCanceledException) { }
            }
        })).ToList();
        try
        {
            service = await WaitForAsync(alice, s => s["desiredReplicas"]!.GetValue<int>() == 3 && Healthy(s) == 3, "scaled up to three healthy replicas");
            Assert.True(service["requestsPerSecond"]!.GetValue<double>() > 10, service.ToJsonString());
        }
        finally
        {
            await load.CancelAsync();
            await Task.WhenAll(workers);
        }
        Assert.Equal(0, failed);
        Assert.True(ok > 30, $"{ok} requests");

        // Each replica is a job charged like any: the service's cost is their sum (estimated while they run).
        Assert.Equal("CRD", service["cost"]!["currency"]!.GetValue<string>());
        Assert.True(service["cost"]!["amount"]!.GetValue<decimal>() > 0m, service.ToJsonString());
        string metrics = await alice.GetStringAsync("/metrics");
        Assert.Contains("compgrid_service_replicas", metrics, StringComparison.Ordinal);
        Assert.Contains("compgrid_service_requests_per_second", metrics, StringComparison.Ordinal);

        // Deleting cancels every replica job.
        Assert.Equal(HttpStatusCode.OK, (await alice.DeleteAsync("/api/services/web")).StatusCode);
        foreach (var id in service["jobIds"]!.AsArray())
            await alice.WaitForStateAsync(id!.GetValue<string>(), HttpJson.Terminal.Contains, TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.NotFound, (await alice.GetAsync("/services/web/")).StatusCode);
    }

    [Fact]
    public async Task Deploy_BadBody_IsRefusedNamingTheFields_AndNothingRuns()
    {
        using var alice = Alice;
        var r = await alice.PostAsJsonAsync("/api/services", new { name = "Bad Name", command = "true", replicas = 0, healthPath = "x" });
        string text = await r.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Contains("\"name\"", text, StringComparison.Ordinal);
        Assert.Contains("\"minReplicas\"", text, StringComparison.Ordinal);
        Assert.Contains("\"healthPath\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Bad Name", await alice.GetStringAsync("/api/services"), StringComparison.Ordinal);
    }

    private static int Healthy(JsonObject s) => s["replicas"]!.AsArray().Count(r => r!["state"]!.GetValue<string>() == "Healthy");

    private static async Task<int> PidAsync(HttpClient http)
    {
        var r = await http.GetAsync("/services/web/pid.txt");
        string body = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.OK, body);
        return int.Parse(body.Trim(), CultureInfo.InvariantCulture);
    }

    // Polls the portal's own view (bounded) until the condition holds; the service object is { service, cost } flattened.
    private async Task<JsonObject> WaitForAsync(HttpClient http, Func<JsonObject, bool> until, string what)
    {
        var sw = Stopwatch.StartNew();
        JsonObject s;
        do
        {
            var view = JsonNode.Parse(await http.GetStringAsync("/api/services/web"))!.AsObject();
            s = view["service"]!.AsObject().DeepClone().AsObject();
            s["cost"] = view["cost"]?.DeepClone();
            if (until(s)) return s;
            await Task.Delay(100);
        }
        while (sw.Elapsed < TimeSpan.FromSeconds(90));
        throw new TimeoutException($"waited for {what}: {s.ToJsonString()}\n{fixture.Host.OutputText[^Math.Min(4000, fixture.Host.OutputText.Length)..]}");
    }
}

using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace CompGrid.SampleHost.Tests;

/// <summary>A host for the metrics and dashboard tests.</summary>
public sealed class MetricsHostFixture : ConfiguredHostFixture;

/// <summary><c>/metrics</c> (Prometheus text from the CompGrid Meter) and the dashboard's JSON endpoints.</summary>
[Trait("Category", "SampleHost")]
public sealed partial class MetricsAndDashboardTests(MetricsHostFixture fixture) : IClassFixture<MetricsHostFixture>
{
    private HttpClient Alice => fixture.Host.Client("dev-alice-token");

    [Fact]
    public async Task Metrics_AfterJobsRanAndOneWaits_ShowsCompGridCountersAndGauges_Anonymously()
    {
        var done = await Alice.PostJobAsync(new { name = "metered", command = "echo metered", account = "alice-lab", walltimeSeconds = 60 });
        await Alice.WaitForStateAsync(done["id"]!.GetValue<string>(), HttpJson.Terminal.Contains, TimeSpan.FromSeconds(30));
        var waiting = await Alice.PostJobAsync(new { name = "big", command = "echo big", cpus = 2, walltimeSeconds = 60 });   // over the stewardship limit
        Assert.Equal("AwaitingApproval", waiting["state"]!.GetValue<string>());

        using var scraper = fixture.Host.Client(null);
        // The gauges are published after each scheduling cycle (every 200 ms here): poll the real endpoint, bounded.
        string text = "";
        for (int i = 0; i < 100 && Value(text, "compgrid_jobs_active", "state=\"AwaitingApproval\"") < 1; i++)
        {
            var r = await scraper.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.StartsWith("text/plain", r.Content.Headers.ContentType?.MediaType ?? "", StringComparison.Ordinal);
            text = await r.Content.ReadAsStringAsync();
            await Task.Delay(100);
        }
        Assert.True(Value(text, "compgrid_jobs_submitted_total", "") >= 2, text);
        Assert.True(Value(text, "compgrid_jobs_finished_total", "state=\"Completed\"") >= 1, text);
        Assert.True(Value(text, "compgrid_billing_holds_total", "") >= 1, text);
        Assert.True(Value(text, "compgrid_jobs_active", "state=\"AwaitingApproval\"") >= 1, text);
        Assert.Contains("compgrid_jobs_active{", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE compgrid_jobs_queue_oldest_wait_seconds gauge", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DashboardJobs_FinishedJob_ShowsTheChargeFromTheLedger_AndOnlyTheCallersJobs()
    {
        var job = await Alice.PostJobAsync(new { name = "costed", command = "sleep 2; echo costed", account = "alice-lab", walltimeSeconds = 60 });
        string id = job["id"]!.GetValue<string>();
        await Alice.WaitForStateAsync(id, HttpJson.Terminal.Contains, TimeSpan.FromSeconds(30));

        // The charge lands when usage is delivered, just after the terminal state.
        JsonNode? row = null;
        for (int i = 0; i < 100 && row?["cost"]?["final"]?.GetValue<bool>() != true; i++)
        {
            row = (await Alice.GetFromJsonAsync<JsonArray>("/api/dashboard/jobs"))!.First(r => r!["job"]!["id"]!.GetValue<string>() == id);
            await Task.Delay(100);
        }
        Assert.True(row!["cost"]!["final"]!.GetValue<bool>(), row.ToJsonString());
        decimal shown = row["cost"]!["amount"]!.GetValue<decimal>();

        var statement = JsonNode.Parse(await Alice.GetStringAsync("/api/grants/alice-lab/statement?format=json"))!;
        decimal ledger = statement["charges"]!.AsArray().Where(c => c!["jobId"]!.GetValue<string>() == id).Sum(c => c!["amount"]!.GetValue<decimal>());
        Assert.Equal(ledger, shown);
        Assert.True(shown > 0, "a 2 s job at 1 CRD per CPU-second costs something");

        using var bob = fixture.Host.Client("dev-bob-token");
        Assert.DoesNotContain(id, await bob.GetStringAsync("/api/dashboard/jobs"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DashboardUsage_HasOneBarPerDay_AndRejectsBadInputNamingTheField()
    {
        var usage = (await Alice.GetFromJsonAsync<JsonObject>("/api/dashboard/usage?days=7"))!;
        Assert.Equal(7, usage["byDay"]!.AsArray().Count);
        foreach (string q in (string[])["/api/dashboard/usage?days=0", "/api/dashboard/usage?days=367"])
        {
            var r = await Alice.GetAsync(q);
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Contains("days", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        var bad = await Alice.GetAsync("/api/dashboard/jobs?limit=0");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("limit", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var anonymous = fixture.Host.Client(null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/dashboard/jobs")).StatusCode);
    }

    // The value of the first series of `name` whose labels contain `label` (Prometheus text format), or -1.
    private static double Value(string text, string name, string label)
    {
        foreach (Match m in SeriesLine().Matches(text))
            if (m.Groups["name"].Value == name && m.Groups["labels"].Value.Contains(label, StringComparison.Ordinal))
                return double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture);
        return -1;
    }

    [GeneratedRegex(@"^(?<name>[a-z_]+)(\{(?<labels>[^}]*)\})? (?<value>[0-9.eE+-]+)", RegexOptions.Multiline)]
    private static partial Regex SeriesLine();
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace CompGrid.SampleHost.Tests;

/// <summary>Grant billing through the sample host's API, on the development grants (alice-lab, alice-pilot, bob-lab).</summary>
[Trait("Category", "SampleHost")]
public sealed class BillingHostTests(HostFixture fixture) : IClassFixture<HostFixture>
{
    private HttpClient Alice => fixture.Host.Client("dev-alice-token");
    private HttpClient Bob => fixture.Host.Client("dev-bob-token");
    private HttpClient Admin => fixture.Host.Client("dev-admin-token");

    [Fact]
    public async Task Alice_QuotesSubmitsAndHerStatementShowsTheChargeReplacingTheHold()
    {
        // Quote: 1 CPU × 60 s at 1 credit per CPU-second (the development rate card) = 60 credits.
        var quote = await PostAsync(Alice, "/api/quotes", new { command = "sleep 1", cpus = 1, walltimeSeconds = 60, account = "alice-lab" }, HttpStatusCode.OK);
        Assert.Equal(60m, quote["amount"]!.GetValue<decimal>());
        Assert.True(quote["affordable"]!.GetValue<bool>());

        var before = await BalanceAsync(Alice, "alice-lab");
        var job = await Alice.PostJobAsync(new { name = "billed", command = "sleep 1", cpus = 1, walltimeSeconds = 60, account = "alice-lab" });
        string id = job["id"]!.GetValue<string>();
        var done = await Alice.WaitForStateAsync(id, HttpJson.Terminal.Contains, TimeSpan.FromSeconds(30));
        Assert.True(done["state"]!.GetValue<string>() == "Completed", $"the job did not complete: {done.ToJsonString()}");

        // The charge arrives with the usage record; wait for it (the usage sink runs after the terminal state).
        JsonObject statement = new();
        JsonObject? line = null;
        for (int i = 0; i < 100 && line is null; i++)
        {
            statement = JsonNode.Parse(await Alice.GetStringAsync("/api/grants/alice-lab/statement?from=2000-01-01&to=2100-01-01&format=json"))!.AsObject();
            line = statement["charges"]!.AsArray().Select(c => c!.AsObject()).FirstOrDefault(c => c["jobId"]!.GetValue<string>() == id);
            if (line is null) await Task.Delay(100);
        }
        Assert.NotNull(line);
        var usage = JsonNode.Parse(await Alice.GetStringAsync($"/api/jobs/{id}/usage"))!.AsObject();
        var elapsed = TimeSpan.Parse(usage["elapsed"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(Math.Round((decimal)elapsed.Ticks / TimeSpan.TicksPerSecond, 0, MidpointRounding.AwayFromZero), line!["amount"]!.GetValue<decimal>());
        Assert.Equal("alice", line["user"]!.GetValue<string>());

        var after = await BalanceAsync(Alice, "alice-lab");
        Assert.Equal(before["held"]!.GetValue<decimal>(), after["held"]!.GetValue<decimal>()); // the hold is gone
        Assert.Equal(before["charged"]!.GetValue<decimal>() + line["amount"]!.GetValue<decimal>(), after["charged"]!.GetValue<decimal>());
        Assert.Equal(statement["totalCharges"]!.GetValue<decimal>(), statement["charges"]!.AsArray().Sum(c => c!["amount"]!.GetValue<decimal>()));

        string csv = await Alice.GetStringAsync("/api/grants/alice-lab/statement?from=2000-01-01&to=2100-01-01&format=csv");
        Assert.StartsWith("section,at,entry,job,user", csv, StringComparison.Ordinal);
        Assert.Contains(csv.Split('\n'), l => l.StartsWith("charge,", StringComparison.Ordinal) && l.Contains(id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task GrantWithoutEnoughFunds_RejectsNamingTheAmounts()
    {
        var r = await Alice.PostAsJsonAsync("/api/jobs", new { command = "true", cpus = 1, walltimeSeconds = 3600, account = "alice-pilot" });
        string text = await r.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.PaymentRequired, r.StatusCode);
        Assert.Contains("alice-pilot", text, StringComparison.Ordinal);
        Assert.Contains("3600", text, StringComparison.Ordinal); // needed
        Assert.Contains("available", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bob_CannotChargeOrSeeAlicesGrant()
    {
        var r = await Bob.PostAsJsonAsync("/api/jobs", new { command = "true", cpus = 1, account = "alice-lab" });
        Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
        Assert.Contains("not a member", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await Bob.GetAsync("/api/grants/alice-lab/statement")).StatusCode);
        var grants = JsonNode.Parse(await Bob.GetStringAsync("/api/grants"))!.AsArray();
        var codes = grants.Select(g => g!["grant"]!["code"]!.GetValue<string>()).ToList();
        Assert.Contains("bob-lab", codes);
        Assert.DoesNotContain(codes, c => c.StartsWith("alice-", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Forbidden, (await Bob.PostAsJsonAsync("/api/quotes", new { cpus = 1, account = "alice-lab" })).StatusCode);
    }

    [Fact]
    public async Task Admin_CreatesGrantAndPostsAdjustment_UsersCannot()
    {
        string code = "proj-" + Guid.NewGuid().ToString("N")[..8];
        var created = await PostAsync(Admin, "/api/grants", new { code, title = "Project", principalInvestigator = "bob", currency = "CRD", budget = 500 }, HttpStatusCode.Created);
        Assert.Equal(500m, created["balance"]!["available"]!.GetValue<decimal>());
        await PostAsync(Admin, $"/api/grants/{code}/adjustments", new { amount = -25, reason = "storage fee" }, HttpStatusCode.Created);
        Assert.Equal(475m, (await BalanceAsync(Bob, code))["balance"]!.GetValue<decimal>());
        var missingReason = await Admin.PostAsJsonAsync($"/api/grants/{code}/adjustments", new { amount = 5 });
        Assert.Equal(HttpStatusCode.BadRequest, missingReason.StatusCode);
        Assert.Contains("reason", await missingReason.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, (await Alice.PostAsJsonAsync("/api/grants", new { code = "x", principalInvestigator = "alice" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Admin.GetAsync($"/api/grants/{code}/statement?from=yesterday")).StatusCode);
    }

    private static async Task<JsonObject> BalanceAsync(HttpClient http, string code) =>
        JsonNode.Parse(await http.GetStringAsync($"/api/grants/{code}"))!["balance"]!.AsObject();

    private static async Task<JsonObject> PostAsync(HttpClient http, string path, object body, HttpStatusCode expected)
    {
        var r = await http.PostAsJsonAsync(path, body);
        string text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == expected, $"expected {expected}, got {(int)r.StatusCode}: {text}");
        return JsonNode.Parse(text)!.AsObject();
    }
}

[Trait("Category", "SampleHost")]
public sealed class BillingCrashTests
{
    [Fact]
    public async Task KillDashNineWhileJobsFinish_RestartChargesEveryJobExactlyOnce()
    {
        string data = Path.Combine(Path.GetTempPath(), "cg-billing-crash-" + Guid.NewGuid().ToString("N")[..8]);
        var ids = new List<string>();
        await using (var first = new HostProcess(data))
        {
            await first.StartAsync();
            using var alice = first.Client("dev-alice-token");
            for (int i = 0; i < 6; i++)
            {
                var job = await alice.PostJobAsync(new { command = $"sleep 0.{2 + i}; sleep {i / 2}", cpus = 1, walltimeSeconds = 60, account = "alice-lab" });
                ids.Add(job["id"]!.GetValue<string>());
            }
            // Kill while some jobs have finished (and are being charged) and others still run.
            await alice.WaitForStateAsync(ids[0], HttpJson.Terminal.Contains, TimeSpan.FromSeconds(30));
            await first.KillAsync();
        }
        await using var second = new HostProcess(data);
        await second.StartAsync();
        using var client = second.Client("dev-alice-token");
        foreach (var id in ids) await client.WaitForStateAsync(id, HttpJson.Terminal.Contains, TimeSpan.FromSeconds(60));

        JsonObject statement = new();
        for (int i = 0; i < 200; i++)
        {
            statement = JsonNode.Parse(await client.GetStringAsync("/api/grants/alice-lab/statement?from=2000-01-01&to=2100-01-01"))!.AsObject();
            if (statement["charges"]!.AsArray().Count >= ids.Count && statement["heldAtClose"]!.GetValue<decimal>() == 0) break;
            await Task.Delay(100);
        }
        var charged = statement["charges"]!.AsArray().Select(c => c!["jobId"]!.GetValue<string>()).ToList();
        Assert.Equal(ids.Order(StringComparer.Ordinal), charged.Order(StringComparer.Ordinal)); // every job once, no duplicates
        Assert.Equal(0m, statement["heldAtClose"]!.GetValue<decimal>());
        decimal total = statement["charges"]!.AsArray().Sum(c => c!["amount"]!.GetValue<decimal>());
        Assert.Equal(total, statement["totalCharges"]!.GetValue<decimal>());
        var balance = JsonNode.Parse(await client.GetStringAsync("/api/grants/alice-lab"))!["balance"]!;
        Assert.Equal(1_000_000m - total, balance["available"]!.GetValue<decimal>());
        Assert.Equal(statement["closingBalance"]!.GetValue<decimal>(), balance["balance"]!.GetValue<decimal>());
    }
}

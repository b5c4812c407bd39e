using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CompGrid.SampleHost.Tests;
using CompGrid.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace CompGrid.Browser.Tests;

/// <summary>The dashboard in headless Chromium against the real sample host: what a user and an administrator do.</summary>
[Collection(BrowserCollection.Name)]
[Trait("Category", "Browser")]
public sealed class DashboardTests(BrowserFixture fixture)
{
    private const string Chromium = BrowserFixture.ChromiumVariable;

    [BackendFact("chromium", Chromium)]
    public async Task User_SignsIn_Submits_FollowsLogsToCompletion_SeesTheBalanceChange_AndDownloadsTheStatement()
    {
        var page = await fixture.NewPageAsync();
        await page.GotoAsync("/");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Sign in" })).ToBeVisibleAsync();
        await fixture.ScreenshotAsync(page, "01-sign-in");

        await SignInAsync(page, "alice", "dev-alice-token");
        var balance = page.Locator("tr[data-grant='alice-lab'] td.balance");
        await Expect(balance).ToContainTextAsync("CRD");
        string before = await balance.InnerTextAsync();
        await fixture.ScreenshotAsync(page, "02-dashboard-alice");

        // The submit form with its live quote: 60 s on 1 CPU at 3600 CRD per core-hour is at most 60 CRD.
        await page.GetByRole(AriaRole.Textbox, new() { Name = "Command", Exact = true }).FillAsync("echo browser-first; sleep 5; echo browser-second");
        await page.GetByLabel("Walltime (s)").FillAsync("60");
        await page.Locator("#jobGrant").SelectOptionAsync("alice-lab");
        await Expect(page.Locator("#quote")).ToContainTextAsync("at most 60 CRD");
        await fixture.ScreenshotAsync(page, "03-submit-with-quote");
        await page.GetByRole(AriaRole.Button, new() { Name = "Submit", Exact = true }).ClickAsync();
        await Expect(page.Locator("#submitResult")).ToContainTextAsync("Submitted cg-");
        string id = (await page.Locator("#submitResult").GetAttributeAsync("data-job"))!;

        // Logs follow the running job: the first line while it runs, the second arrives without another click.
        var row = page.Locator($"#jobs tr[data-job='{id}']");
        await Expect(row.Locator("td.state")).ToHaveTextAsync("Running");
        await row.GetByRole(AriaRole.Button, new() { Name = $"Logs of {id}" }).ClickAsync();
        await Expect(page.Locator("#logs")).ToContainTextAsync("browser-first");
        await Expect(page.Locator("#logsState")).ToHaveTextAsync("(Running)");
        await fixture.ScreenshotAsync(page, "04-logs-following");
        await Expect(page.Locator("#logs")).ToContainTextAsync("browser-second");
        await Expect(page.Locator("#logsState")).ToHaveTextAsync("(Completed)");
        await Expect(row.Locator("td.state")).ToHaveTextAsync("Completed");

        // The charge lands on the grant: the balance changes and the job shows its final cost.
        await Expect(balance).Not.ToHaveTextAsync(before);
        await Expect(row.Locator("td.cost")).ToContainTextAsync("CRD");
        await Expect(row.Locator("td.cost")).Not.ToContainTextAsync("estimated");
        await fixture.ScreenshotAsync(page, "05-completed-and-charged");

        var download = await page.RunAndWaitForDownloadAsync(() =>
            page.GetByRole(AriaRole.Link, new() { Name = "Statement of alice-lab (CSV)" }).ClickAsync());
        string path = Path.Combine(fixture.Artifacts, "statement-alice-lab.csv");
        await download.SaveAsAsync(path);
        string csv = await File.ReadAllTextAsync(path);
        Assert.StartsWith("section,at,entry,job,user", csv, StringComparison.Ordinal);
        Assert.Contains($"charge,", csv, StringComparison.Ordinal);
        Assert.Contains(id, csv, StringComparison.Ordinal);
        await page.Context.CloseAsync();
    }

    [BackendFact("chromium", Chromium)]
    public async Task Administrator_ApprovesOneWaitingJob_AndRejectsAnotherWithAReason()
    {
        // Alice asks for more than the stewardship limit (1 CPU in Development): both jobs wait for an administrator.
        using var alice = fixture.Host.Client("dev-alice-token");
        string approveId = await SubmitAsync(alice, new { name = "needs-approval", command = "echo approved-in-browser", cpus = 2, walltimeSeconds = 60 });
        string rejectId = await SubmitAsync(alice, new { name = "too-big", command = "echo never", cpus = 2, walltimeSeconds = 60 });

        var page = await fixture.NewPageAsync();
        await page.GotoAsync("/");
        await SignInAsync(page, "admin", "dev-admin-token");
        var approvals = page.Locator("#approvals");
        await Expect(approvals.Locator($"tr[data-job='{approveId}']")).ToBeVisibleAsync();
        await Expect(approvals.Locator($"tr[data-job='{rejectId}']")).ToBeVisibleAsync();
        await fixture.ScreenshotAsync(page, "06-approvals");

        await page.GetByLabel($"Reason for {approveId}").FillAsync("fits this week");
        await page.GetByRole(AriaRole.Button, new() { Name = $"Approve {approveId}" }).ClickAsync();
        await Expect(page.Locator("#approvalResult")).ToHaveTextAsync($"{approveId} approved.");
        await page.GetByLabel($"Reason for {rejectId}").FillAsync("ask for 1 CPU");
        await page.GetByRole(AriaRole.Button, new() { Name = $"Reject {rejectId}" }).ClickAsync();
        await Expect(page.Locator("#approvalResult")).ToHaveTextAsync($"{rejectId} rejected.");

        var jobs = page.Locator("#jobs");
        await Expect(jobs.Locator($"tr[data-job='{approveId}'] td.state")).ToHaveTextAsync("Completed");
        await Expect(jobs.Locator($"tr[data-job='{rejectId}'] td.state")).ToHaveTextAsync("Rejected");
        await Expect(jobs.Locator($"tr[data-job='{rejectId}']")).ToContainTextAsync("ask for 1 CPU");
        await Expect(page.Locator("#nodesSection h3").First).ToContainTextAsync("local");
        await fixture.ScreenshotAsync(page, "07-admin-after-decisions");

        // What the page showed is what the API says.
        var approved = JsonNode.Parse(await alice.GetStringAsync($"/api/jobs/{approveId}"))!;
        Assert.Equal("admin", approved["approval"]!["by"]!.GetValue<string>());
        Assert.Equal("fits this week", approved["approval"]!["reason"]!.GetValue<string>());
        await page.Context.CloseAsync();
    }

    [BackendFact("chromium", Chromium)]
    public async Task Dashboard_AtPhoneWidth_HasNoSidewaysScroll_AndEveryControlHasALabel()
    {
        var page = await fixture.NewPageAsync(390, 844);
        await page.GotoAsync("/");
        await SignInAsync(page, "bob", "dev-bob-token");
        await Expect(page.Locator("#grants tr[data-grant='bob-lab']")).ToBeVisibleAsync();
        await Expect(page.Locator("#chartDay svg")).ToBeVisibleAsync();
        await fixture.ScreenshotAsync(page, "08-phone-width");

        int overflow = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth");
        Assert.True(overflow <= 0, $"the page is {overflow} px wider than a phone screen");
        // Every visible form control is named by a <label> or aria-label (what a screen reader announces).
        var unlabelled = await page.EvaluateAsync<string[]>(
            "() => [...document.querySelectorAll('input, select, textarea')].filter(e => e.offsetParent !== null && e.labels.length === 0 && !e.getAttribute('aria-label')).map(e => e.id || e.outerHTML)");
        Assert.Empty(unlabelled);
        // The charts are images with a name.
        Assert.Equal("chartDayTitle", await page.Locator("#chartDay svg").GetAttributeAsync("aria-labelledby"));

        // Signing out returns to the form and the cookie no longer works.
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Sign in" })).ToBeVisibleAsync();
        var status = await page.EvaluateAsync<int>("async () => (await fetch('/api/jobs')).status");
        Assert.Equal(401, status);
        await page.Context.CloseAsync();
    }

    internal static async Task SignInAsync(IPage page, string user, string secret)
    {
        await page.GetByLabel("User name").FillAsync(user);
        await page.GetByLabel("Secret").FillAsync(secret);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.Locator("#me")).ToContainTextAsync($"Signed in as {user}");
    }

    private static async Task<string> SubmitAsync(HttpClient http, object body)
    {
        var r = await http.PostAsJsonAsync("/api/jobs", body);
        var job = JsonNode.Parse(await r.Content.ReadAsStringAsync())!;
        Assert.True(r.IsSuccessStatusCode, job.ToJsonString());
        Assert.Equal("AwaitingApproval", job["state"]!.GetValue<string>());
        return job["id"]!.GetValue<string>();
    }
}

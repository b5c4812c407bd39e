using System.Diagnostics;
using System.Globalization;
using CompGrid.SampleHost.Tests;
using CompGrid.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace CompGrid.Browser.Tests;

/// <summary>A Jupyter session and a two-replica service opened from the dashboard and reached through the portal's proxy.</summary>
[Collection(BrowserCollection.Name)]
[Trait("Category", "Browser")]
public sealed class SessionsAndServicesTests(BrowserFixture fixture)
{
    // $$ is the shell's pid, which exec hands to the server: the pid the test kills is the replica's process.
    private const string PidServer = "echo $$ > pid.txt; exec /usr/bin/python3 -m http.server \"$PORT\" --bind 127.0.0.1";

    // Needs the notebook server too (eng/backends/jupyter.sh); the fixture already requires Chromium.
    [BackendFact("Jupyter", "COMPGRID_JUPYTER")]
    public async Task User_OpensAJupyterSession_FromTheDashboard_AndSeesTheNotebookThroughTheProxy()
    {
        var page = await fixture.NewPageAsync();
        await page.GotoAsync("/");
        await DashboardTests.SignInAsync(page, "alice", "dev-alice-token");
        await page.Locator("#sessionGrant").SelectOptionAsync("alice-lab");
        await page.GetByRole(AriaRole.Button, new() { Name = "Open a Jupyter session" }).ClickAsync();
        await Expect(page.Locator("#sessionResult")).ToContainTextAsync("Opened session");
        string id = (await page.Locator("#sessionResult").GetAttributeAsync("data-session"))!;
        var row = page.Locator($"#sessions tr[data-session='{id}']");
        var link = row.GetByRole(AriaRole.Link, new() { Name = $"Open notebook {id[..8]}" });
        await Expect(link).ToBeVisibleAsync(new() { Timeout = 90_000 });
        await fixture.ScreenshotAsync(page, "10-session-ready");

        // The notebook page itself, served by the portal under /sessions/{id}/ (the browser never sees the server's port).
        string href = (await link.GetAttributeAsync("href"))!;
        Assert.StartsWith($"/sessions/{id}/", href, StringComparison.Ordinal);
        var notebook = await page.Context.NewPageAsync();
        var response = await notebook.GotoAsync(href);
        Assert.Equal(200, response!.Status);
        await Expect(notebook).ToHaveTitleAsync(new System.Text.RegularExpressions.Regex("Jupyter|Home"));
        Assert.StartsWith(fixture.Host.BaseAddress.ToString().TrimEnd('/') + $"/sessions/{id}/", notebook.Url, StringComparison.Ordinal);
        await fixture.ScreenshotAsync(notebook, "11-notebook-through-proxy");
        await notebook.CloseAsync();

        await row.GetByRole(AriaRole.Button, new() { Name = $"Close session {id[..8]}" }).ClickAsync();
        await Expect(row.Locator("td.state")).ToContainTextAsync("Ended", new() { Timeout = 60_000 });
        await page.Context.CloseAsync();
    }

    [BackendFact("chromium", BrowserFixture.ChromiumVariable)]
    public async Task User_DeploysATwoReplicaService_ReachesIt_KillsOneReplica_AndStillReachesIt()
    {
        var page = await fixture.NewPageAsync();
        await page.GotoAsync("/");
        await DashboardTests.SignInAsync(page, "alice", "dev-alice-token");
        await page.Locator("#serviceName").FillAsync("browser-web");
        await page.Locator("#serviceCommand").FillAsync(PidServer);
        await page.Locator("#serviceReplicas").FillAsync("2");
        await page.Locator("#serviceMax").FillAsync("2");
        await page.Locator("#serviceGrant").SelectOptionAsync("alice-lab");
        await fixture.ScreenshotAsync(page, "12-service-form");
        await page.GetByRole(AriaRole.Button, new() { Name = "Deploy" }).ClickAsync();
        await Expect(page.Locator("#serviceResult")).ToContainTextAsync("Deployed browser-web at /services/browser-web/");
        var panel = page.Locator("article[data-service='browser-web']");
        await Expect(panel.Locator(".healthy")).ToHaveTextAsync("2/2", new() { Timeout = 90_000 });
        await Expect(panel.Locator("tbody tr")).ToHaveCountAsync(2);
        await fixture.ScreenshotAsync(page, "13-service-two-healthy");

        // Reached through the proxy in the same browser (the session cookie): each replica answers with its own pid.
        var site = await page.Context.NewPageAsync();
        var pids = new HashSet<int>();
        for (int i = 0; i < 6; i++) pids.Add(await PidAsync(site));
        Assert.Equal(2, pids.Count);
        await site.GotoAsync("/services/browser-web/");
        await Expect(site.Locator("body")).ToContainTextAsync("pid.txt");
        await fixture.ScreenshotAsync(site, "14-service-through-proxy");

        // Kill one replica's process: the service still answers, from the other replica, and the dashboard shows the replacement.
        int victim = pids.First();
        using (var p = Process.GetProcessById(victim)) { p.Kill(); await p.WaitForExitAsync(); }
        for (int i = 0; i < 6; i++) Assert.NotEqual(victim, await PidAsync(site));
        await fixture.ScreenshotAsync(site, "15-service-after-kill");
        await site.CloseAsync();
        await Expect(panel.Locator(".restarts")).ToHaveTextAsync("1", new() { Timeout = 60_000 });
        await Expect(panel.Locator(".healthy")).ToHaveTextAsync("2/2", new() { Timeout = 90_000 });
        await Expect(panel.Locator(".cost")).ToContainTextAsync("CRD");
        await fixture.ScreenshotAsync(page, "16-service-replaced");

        // Deleting cancels the replica jobs (waited for, so no replica outlives the test's host).
        var jobs = await panel.Locator("tbody tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.job)");
        await panel.GetByRole(AriaRole.Button, new() { Name = "Delete service browser-web" }).ClickAsync();
        await Expect(panel).ToHaveCountAsync(0);
        using var alice = fixture.Host.Client("dev-alice-token");
        foreach (string job in jobs) await alice.WaitForStateAsync(job, HttpJson.Terminal.Contains, TimeSpan.FromSeconds(30));
        await page.Context.CloseAsync();
    }

    private int _request;

    private async Task<int> PidAsync(IPage site)
    {
        // A new query each time: Chromium would otherwise answer a repeated GET of a static file from its cache.
        var response = await site.GotoAsync($"/services/browser-web/pid.txt?n={++_request}");
        Assert.Equal(200, response!.Status);
        return int.Parse((await response.TextAsync()).Trim(), CultureInfo.InvariantCulture);
    }
}

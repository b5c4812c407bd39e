using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using CompGrid.Testing;

namespace CompGrid.SampleHost.Tests;

/// <summary>The sample host with a short session poll, so a session turns Ready soon after its server answers.</summary>
public sealed class SessionHostFixture() : ConfiguredHostFixture("--CompGrid:Sessions:Jupyter:PollInterval=00:00:00.200");

/// <summary>A Jupyter session opened over the API and reached through the portal's proxy, by its owner only.</summary>
[Trait("Category", "Jupyter")]
public sealed class SessionProxyTests(SessionHostFixture fixture) : IClassFixture<SessionHostFixture>
{
    private HttpClient Alice => fixture.Host.Client("dev-alice-token");
    private HttpClient Bob => fixture.Host.Client("dev-bob-token");

    [BackendFact("Jupyter", "COMPGRID_JUPYTER")]
    public async Task Session_OwnerReachesNotebookThroughProxy_OthersDoNot_CloseEndsIt()
    {
        var created = await Alice.PostAsync("/api/sessions", null);
        string text = await created.Content.ReadAsStringAsync();
        Assert.True(created.StatusCode == HttpStatusCode.Created, text);
        var session = JsonNode.Parse(text)!.AsObject();
        string id = session["id"]!.GetValue<string>();
        Assert.Null(session["token"]);      // the server's token never leaves the portal
        Assert.Null(session["upstream"]);

        var sw = Stopwatch.StartNew();
        while ((session = JsonNode.Parse(await Alice.GetStringAsync($"/api/sessions/{id}"))!.AsObject())["state"]!.GetValue<string>() == "Starting" && sw.Elapsed < TimeSpan.FromSeconds(60))
            await Task.Delay(200);
        Assert.True(session["state"]!.GetValue<string>() == "Ready", session.ToJsonString() + fixture.Host.OutputText);
        string url = session["url"]!.GetValue<string>();
        Assert.Equal($"/sessions/{id}/tree", url);

        var page = await Alice.GetAsync(url);
        string html = await page.Content.ReadAsStringAsync();
        Assert.True(page.StatusCode == HttpStatusCode.OK, html);
        Assert.Contains("Jupyter", html, StringComparison.Ordinal);
        Assert.Contains("version", await Alice.GetStringAsync($"/sessions/{id}/api"), StringComparison.Ordinal);

        // Another user, and nobody at all, do not get through.
        Assert.Equal(HttpStatusCode.NotFound, (await Bob.GetAsync(url)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Bob.GetAsync($"/api/sessions/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await fixture.Host.Client(null).GetAsync(url)).StatusCode);
        Assert.DoesNotContain(id, await Bob.GetStringAsync("/api/sessions"), StringComparison.Ordinal);

        // The session is a job of Alice's; closing it cancels the job and the proxy stops answering.
        string jobId = session["jobId"]!.GetValue<string>();
        Assert.Equal("alice", (await Alice.GetJobAsync(jobId))["spec"]!["owner"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await Alice.DeleteAsync($"/api/sessions/{id}")).StatusCode);
        var job = await Alice.WaitForStateAsync(jobId, HttpJson.Terminal.Contains, TimeSpan.FromSeconds(30));
        Assert.Equal("Cancelled", job["state"]!.GetValue<string>());
        sw.Restart();
        while ((session = JsonNode.Parse(await Alice.GetStringAsync($"/api/sessions/{id}"))!.AsObject())["state"]!.GetValue<string>() != "Ended" && sw.Elapsed < TimeSpan.FromSeconds(30))
            await Task.Delay(200);
        Assert.Equal("closed", session["endReason"]!.GetValue<string>());
        Assert.NotEqual(HttpStatusCode.OK, (await Alice.GetAsync(url)).StatusCode);
    }
}

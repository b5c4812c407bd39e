using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using CompGrid.Testing;

namespace CompGrid.EmbeddedPortal.Tests;

/// <summary>One portal on the system clock for the class (its jobs are short, so the office-hours check never holds them).</summary>
public sealed class PortalFixture : IAsyncLifetime
{
    public PortalTestHost Host { get; private set; } = null!;
    public async Task InitializeAsync() => Host = await PortalTestHost.StartAsync();
    public async Task DisposeAsync() => await Host.DisposeAsync();
}

[Trait("Category", "EmbeddedPortal")]
public sealed class PortalTests(PortalFixture fixture) : IClassFixture<PortalFixture>
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    private static async Task<JobRecord> SubmitAsync(HttpClient client, object body)
    {
        var response = await client.PostAsJsonAsync("/jobs", body);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JobRecord>(Json))!;
    }

    private static async Task<JobRecord> GetAsync(HttpClient client, string id) => (await client.GetFromJsonAsync<JobRecord>($"/jobs/{id}", Json))!;

    [Fact]
    public async Task Submit_AuthenticatedUser_RunsOnTheProcessBackendAsTheirJob()
    {
        using var alice = fixture.Host.Client(PortalTestHost.AliceKey);
        string marker = "hello-" + Guid.NewGuid().ToString("N")[..8];
        var job = await SubmitAsync(alice, new { executable = "/bin/echo", arguments = new[] { marker, "$HOME;", "`id`" }, minutes = 5 });
        Assert.Equal("alice", job.Spec.Owner);

        var done = await PortalTestHost.PollAsync(() => GetAsync(alice, job.Id), j => j.IsTerminal);
        Assert.Equal(JobState.Completed, done.State);
        Assert.Equal("proc", done.Backend);
        var logs = await alice.GetFromJsonAsync<JobLogs>($"/jobs/{job.Id}/logs", Json);
        Assert.Equal($"{marker} $HOME; `id`\n", logs!.StandardOutput); // an argument list: nothing expanded by a shell

        var mine = await alice.GetFromJsonAsync<List<JobRecord>>("/jobs", Json);
        Assert.Contains(mine!, j => j.Id == job.Id);
    }

    [Fact]
    public async Task OtherUser_CannotSeeListOrCancelTheJob()
    {
        using var alice = fixture.Host.Client(PortalTestHost.AliceKey);
        using var bob = fixture.Host.Client(PortalTestHost.BobKey);
        var job = await SubmitAsync(alice, new { executable = "/bin/sleep", arguments = new[] { "300" }, minutes = 10 });

        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync($"/jobs/{job.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.PostAsync($"/jobs/{job.Id}/cancel", null)).StatusCode);
        Assert.DoesNotContain((await bob.GetFromJsonAsync<List<JobRecord>>("/jobs", Json))!, j => j.Id == job.Id);

        Assert.Equal(HttpStatusCode.OK, (await alice.PostAsync($"/jobs/{job.Id}/cancel", null)).StatusCode);
        var done = await PortalTestHost.PollAsync(() => GetAsync(alice, job.Id), j => j.IsTerminal);
        Assert.Equal(JobState.Cancelled, done.State);
    }

    [Theory]
    [InlineData("wrong-key")]
    [InlineData(null)]
    public async Task Submit_BadOrMissingKey_Is401AndStoresNothing(string? key)
    {
        using var client = fixture.Host.Client(key);
        var response = await client.PostAsJsonAsync("/jobs", new { executable = "/bin/true" });
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/jobs")).StatusCode);
    }

    [Theory]
    [InlineData("{\"arguments\":[\"hi\"]}", "executable")]
    [InlineData("{\"executable\":\"echo\"}", "executable")]
    [InlineData("{\"executable\":\"/bin/echo\",\"minutes\":0}", "minutes")]
    [InlineData("{\"executable\":\"/bin/echo\",\"cpus\":0}", "cpus")]
    public async Task Submit_BadBody_Is400NamingTheField(string body, string field)
    {
        using var alice = fixture.Host.Client(PortalTestHost.AliceKey);
        var before = (await alice.GetFromJsonAsync<List<JobRecord>>("/jobs", Json))!.Count;
        var response = await alice.PostAsync("/jobs", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty(field, out _), problem.RootElement.ToString());
        Assert.Equal(before, (await alice.GetFromJsonAsync<List<JobRecord>>("/jobs", Json))!.Count);
    }
}

/// <summary>The office-hours admission check on a manual clock: the same portal, a clock the test sets.</summary>
[Trait("Category", "EmbeddedPortal")]
public sealed class OfficeHoursPortalTests
{
    [Fact]
    public async Task LongJob_InOfficeHours_WaitsForApproval_ShortJobAndWeekendAreAdmitted()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero)); // a Tuesday, 10:00 (UTC is the clock's zone)
        await using var host = await PortalTestHost.StartAsync(clock);
        using var alice = host.Client(PortalTestHost.AliceKey);

        async Task<JobRecord> Submit(int minutes)
        {
            var response = await alice.PostAsJsonAsync("/jobs", new { executable = "/bin/true", minutes });
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<JobRecord>(new JsonSerializerOptions(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } }))!;
        }

        var held = await Submit(120);
        Assert.Equal(JobState.AwaitingApproval, held.State);
        Assert.Contains("office hours", held.Reason, StringComparison.Ordinal);
        Assert.NotEqual(JobState.AwaitingApproval, (await Submit(30)).State);

        clock.Advance(TimeSpan.FromDays(4)); // Saturday 10:00
        Assert.NotEqual(JobState.AwaitingApproval, (await Submit(120)).State);
    }
}

/// <summary>A bad setting stops the portal at start-up with a message naming the setting and the rule.</summary>
[Trait("Category", "EmbeddedPortal")]
public sealed class PortalConfigurationTests
{
    [Theory]
    [InlineData("Portal:ApiKeys:0:Sha256", "not-a-hash", "Portal:ApiKeys[0].Sha256 must be 64 hex digits")]
    [InlineData("CompGrid:Process:Cpus", "0", "Cpus must be at least 1")]
    public async Task Start_BadSetting_FailsNamingIt(string key, string value, string message)
    {
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            PortalTestHost.StartAsync(settings: new Dictionary<string, string?> { [key] = value }));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}

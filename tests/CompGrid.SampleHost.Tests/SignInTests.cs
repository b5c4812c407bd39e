using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace CompGrid.SampleHost.Tests;

/// <summary>A host for the sign-in tests (its own sign-in allowance: these tests sign in several times).</summary>
public sealed class SignInHostFixture : ConfiguredHostFixture;

/// <summary>A host whose sign-in limit is 3 attempts a minute.</summary>
public sealed class SignInLimitHostFixture() : ConfiguredHostFixture("--CompGrid:SignIn:Attempts:PermitLimit=3", "--CompGrid:SignIn:Attempts:Window=00:10:00");

/// <summary>The dashboard's sign-in: a session cookie for the configured users, with antiforgery for changes.</summary>
[Trait("Category", "SampleHost")]
public sealed class SignInTests(SignInHostFixture fixture) : IClassFixture<SignInHostFixture>
{
    [Fact]
    public async Task SignIn_WithTheUsersSecret_SetsAnHttpOnlyStrictCookie_AndTheSessionNamesTheUser()
    {
        var browser = new Browser(fixture.Host);
        var r = await browser.SignInAsync("alice", "dev-alice-token");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        string cookie = Assert.Single(r.Headers.GetValues("Set-Cookie"), c => c.StartsWith("compgrid.session=", StringComparison.Ordinal));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);

        var session = await browser.SessionAsync();
        Assert.Equal("alice", session["name"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(session["antiforgeryToken"]?.GetValue<string>()));
        Assert.Equal(HttpStatusCode.OK, (await browser.Http.GetAsync("/api/jobs")).StatusCode);
    }

    [Fact]
    public async Task SignIn_WrongSecretOrUnknownUser_GetTheSameRefusal_AndNoCookie()
    {
        var browser = new Browser(fixture.Host);
        var wrong = await browser.SignInAsync("alice", "not-her-token");
        var unknown = await browser.SignInAsync("mallory", "not-her-token");
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        // Same title and detail: the answer does not tell which user names exist.
        var a = JsonNode.Parse(await wrong.Content.ReadAsStringAsync())!;
        var b = JsonNode.Parse(await unknown.Content.ReadAsStringAsync())!;
        Assert.Equal(a["title"]!.GetValue<string>(), b["title"]!.GetValue<string>());
        Assert.Equal(a["detail"]!.GetValue<string>(), b["detail"]!.GetValue<string>());
        Assert.False(wrong.Headers.Contains("Set-Cookie"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.Http.GetAsync("/api/session")).StatusCode);
    }

    [Fact]
    public async Task SignIn_MissingFieldOrForm_IsRejectedNamingTheField()
    {
        var browser = new Browser(fixture.Host);
        var missing = await browser.Http.PostAsJsonAsync("/api/session", new { user = "alice" });
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Contains("secret", await missing.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        // A cross-site HTML form can only send form encodings: refused.
        var form = await browser.Http.PostAsync("/api/session", new FormUrlEncodedContent(new Dictionary<string, string> { ["user"] = "alice", ["secret"] = "dev-alice-token" }));
        Assert.Equal(HttpStatusCode.BadRequest, form.StatusCode);
        Assert.False(form.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task CookieChange_WithoutAntiforgeryToken_IsRefusedAndSubmitsNothing_WithTheTokenItWorks()
    {
        var browser = new Browser(fixture.Host);
        Assert.Equal(HttpStatusCode.OK, (await browser.SignInAsync("bob", "dev-bob-token")).StatusCode);
        string token = (await browser.SessionAsync())["antiforgeryToken"]!.GetValue<string>();
        using var bob = fixture.Host.Client("dev-bob-token");
        int before = (await bob.GetFromJsonAsync<JsonArray>("/api/jobs"))!.Count;

        var refused = await browser.Http.PostAsJsonAsync("/api/jobs", new { name = "csrf", command = "echo csrf" });
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("X-CSRF-TOKEN", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var forged = new HttpRequestMessage(HttpMethod.Post, "/api/jobs") { Content = JsonContent.Create(new { name = "csrf", command = "echo csrf" }) };
        forged.Headers.Add("X-CSRF-TOKEN", "forged");
        Assert.Equal(HttpStatusCode.BadRequest, (await browser.Http.SendAsync(forged)).StatusCode);
        Assert.Equal(before, (await bob.GetFromJsonAsync<JsonArray>("/api/jobs"))!.Count);

        using var good = new HttpRequestMessage(HttpMethod.Post, "/api/jobs") { Content = JsonContent.Create(new { name = "with-token", command = "echo ok" }) };
        good.Headers.Add("X-CSRF-TOKEN", token);
        Assert.Equal(HttpStatusCode.Created, (await browser.Http.SendAsync(good)).StatusCode);
        Assert.Equal(before + 1, (await bob.GetFromJsonAsync<JsonArray>("/api/jobs"))!.Count);
    }

    [Fact]
    public async Task SignOut_EndsTheSession_AndTheBearerTokenKeepsWorking()
    {
        var browser = new Browser(fixture.Host);
        Assert.Equal(HttpStatusCode.OK, (await browser.SignInAsync("alice", "dev-alice-token")).StatusCode);
        string token = (await browser.SessionAsync())["antiforgeryToken"]!.GetValue<string>();
        using var signOut = new HttpRequestMessage(HttpMethod.Delete, "/api/session");
        signOut.Headers.Add("X-CSRF-TOKEN", token);
        Assert.Equal(HttpStatusCode.NoContent, (await browser.Http.SendAsync(signOut)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.Http.GetAsync("/api/jobs")).StatusCode);

        using var alice = fixture.Host.Client("dev-alice-token");
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync("/api/jobs")).StatusCode);
        using var wrongBearer = fixture.Host.Client("dev-alice-token-x");
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrongBearer.GetAsync("/api/jobs")).StatusCode);
    }

    [Fact]
    public async Task Dashboard_ServesThePageAndItsScripts_Anonymously()
    {
        using var http = fixture.Host.Client(null);
        string page = await http.GetStringAsync("/");
        Assert.Contains("id=\"signInForm\"", page, StringComparison.Ordinal);
        Assert.Contains("createElementNS", await http.GetStringAsync("/charts.js"), StringComparison.Ordinal);   // charts drawn by the page
        Assert.Contains("/api/session", await http.GetStringAsync("/app.js"), StringComparison.Ordinal);
        Assert.DoesNotContain("https://", page, StringComparison.Ordinal);   // no CDN
    }
}

[Trait("Category", "SampleHost")]
public sealed class SignInLimitTests(SignInLimitHostFixture fixture) : IClassFixture<SignInLimitHostFixture>
{
    [Fact]
    public async Task SignIn_MoreAttemptsThanTheLimit_Get429_EvenWithTheRightSecret()
    {
        var browser = new Browser(fixture.Host);
        for (int i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.Unauthorized, (await browser.SignInAsync("alice", "guess-" + i)).StatusCode);
        var limited = await browser.SignInAsync("alice", "dev-alice-token");
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.False(limited.Headers.Contains("Set-Cookie"));
        using var alice = fixture.Host.Client("dev-alice-token");
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync("/api/jobs")).StatusCode);   // the API's bearer callers are not affected
    }
}

/// <summary>An HTTP client that keeps cookies, as a browser does.</summary>
internal sealed class Browser(HostProcess host)
{
    public HttpClient Http { get; } = new(new HttpClientHandler { CookieContainer = new CookieContainer(), UseCookies = true }) { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    public Task<HttpResponseMessage> SignInAsync(string user, string secret) => Http.PostAsJsonAsync("/api/session", new { user, secret });

    public async Task<JsonObject> SessionAsync() => JsonNode.Parse(await Http.GetStringAsync("/api/session"))!.AsObject();
}

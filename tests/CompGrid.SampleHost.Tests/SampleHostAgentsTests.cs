using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace CompGrid.SampleHost.Tests;

// sha256("lab-token") as the configured machine token hash.
public sealed class AgentsHostFixture() : ConfiguredHostFixture(
    "--CompGrid:Agents:Machines:lab-01:TokenSha256=" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData("lab-token"u8)),
    "--CompGrid:Agents:Machines:lab-01:Features:0=lab");

/// <summary>The sample host with <c>CompGrid:Agents</c> configured: the machine is a node, the hub admits only its token.</summary>
[Trait("Category", "SampleHost")]
public sealed class SampleHostAgentsTests(AgentsHostFixture fixture) : IClassFixture<AgentsHostFixture>
{
    [Fact]
    public async Task ConfiguredMachine_IsADownNode_UntilItsAgentConnects()
    {
        var nodes = JsonNode.Parse(await fixture.Host.Client("dev-alice-token").GetStringAsync(new Uri("/api/nodes", UriKind.Relative)))!.AsArray();
        var lab = nodes.Single(n => n!["name"]!.GetValue<string>() == "lab-01")!;
        Assert.Equal("agents", lab["backend"]!.GetValue<string>());
        Assert.Equal("Down", lab["state"]!.GetValue<string>());
        Assert.Equal("never-connected", lab["nativeState"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-token")]
    [InlineData("dev-alice-token")]   // a user's token is not a machine's
    public async Task Hub_WithoutTheMachineToken_IsRefused(string? token)
    {
        using var http = new HttpClient { BaseAddress = fixture.Host.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/agents/hub/negotiate?negotiateVersion=1");
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Hub_WithTheMachineToken_Negotiates()
    {
        using var http = new HttpClient { BaseAddress = fixture.Host.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/agents/hub/negotiate?negotiateVersion=1");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "lab-token");
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(JsonNode.Parse(await response.Content.ReadAsStringAsync())!["connectionToken"]);
    }
}

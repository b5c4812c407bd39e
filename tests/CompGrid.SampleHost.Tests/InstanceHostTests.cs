using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace CompGrid.SampleHost.Tests;

/// <summary>A host with leased VM instances configured (a template that is never booted here: these facts need no VM).</summary>
public sealed class InstancesHostFixture() : ConfiguredHostFixture(
    "--CompGrid:VirtualMachines:Instances:Qemu:StateDirectory=" + StateDirectory,
    "--CompGrid:VirtualMachines:Instances:Qemu:Templates:0:Name=small",
    "--CompGrid:VirtualMachines:Instances:Qemu:Templates:0:Kernel=/bin/sh",
    "--CompGrid:VirtualMachines:Instances:Qemu:Templates:0:Cpus=1",
    "--CompGrid:VirtualMachines:Instances:Qemu:Templates:0:MemoryMiB=256",
    "--CompGrid:VirtualMachines:Instances:MachineOwners:0=carol")
{
    public static readonly string StateDirectory = Path.Combine(Path.GetTempPath(), "cg-inst-" + Guid.NewGuid().ToString("N")[..6]);
}

[Trait("Category", "SampleHost")]
public sealed class InstanceHostTests(InstancesHostFixture fixture) : IClassFixture<InstancesHostFixture>
{
    private HttpClient Alice => fixture.Host.Client("dev-alice-token");
    private HttpClient Bob => fixture.Host.Client("dev-bob-token");
    private HttpClient Admin => fixture.Host.Client("dev-admin-token");

    private static async Task<(HttpStatusCode Status, JsonNode? Body)> SendAsync(HttpClient http, HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        var r = await http.SendAsync(request);
        string text = await r.Content.ReadAsStringAsync();
        return (r.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    [Fact]
    public async Task Create_OwnerSeesIt_OtherUserGets404_AdminListsEvery()
    {
        var (status, created) = await SendAsync(Alice, HttpMethod.Post, "/api/instances", new { template = "small", account = "alice-lab", name = "box" });
        Assert.Equal(HttpStatusCode.Created, status);
        string id = created!["instance"]!["id"]!.GetValue<string>();
        Assert.Equal("alice", created["instance"]!["owner"]!.GetValue<string>());
        Assert.Equal("Stopped", created["instance"]!["state"]!.GetValue<string>());

        var (own, mine) = await SendAsync(Alice, HttpMethod.Get, $"/api/instances/{id}");
        Assert.Equal(HttpStatusCode.OK, own);
        Assert.Null(mine!["address"]);   // not running: no address
        Assert.Contains(id, (await SendAsync(Alice, HttpMethod.Get, "/api/instances")).Body!.AsArray().Select(i => i!["id"]!.GetValue<string>()));

        // Bob cannot see it, nor act on it: 404 like someone else's job, and nothing changes.
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(Bob, HttpMethod.Get, $"/api/instances/{id}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(Bob, HttpMethod.Post, $"/api/instances/{id}/start")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(Bob, HttpMethod.Delete, $"/api/instances/{id}")).Status);
        Assert.DoesNotContain(id, (await SendAsync(Bob, HttpMethod.Get, "/api/instances?all=true")).Body!.AsArray().Select(i => i!["id"]!.GetValue<string>()));

        // An administrator lists every instance, but may not start someone else's.
        Assert.Contains(id, (await SendAsync(Admin, HttpMethod.Get, "/api/instances?all=true")).Body!.AsArray().Select(i => i!["id"]!.GetValue<string>()));
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(Admin, HttpMethod.Post, $"/api/instances/{id}/start")).Status);

        // A stopped instance cannot be suspended (409), and can be deleted by its owner.
        Assert.Equal(HttpStatusCode.Conflict, (await SendAsync(Alice, HttpMethod.Post, $"/api/instances/{id}/suspend")).Status);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(Alice, HttpMethod.Delete, $"/api/instances/{id}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(Alice, HttpMethod.Get, $"/api/instances/{id}")).Status);
    }

    [Theory]
    [InlineData("huge", "alice-lab", "template")]
    [InlineData("small", null, "account")]
    public async Task Create_BadInput_400NamesTheField(string template, string? account, string field)
    {
        var before = (await SendAsync(Alice, HttpMethod.Get, "/api/instances")).Body!.AsArray().Count;
        var (status, problem) = await SendAsync(Alice, HttpMethod.Post, "/api/instances", new { template, account });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.NotNull(problem!["errors"]![field]);
        Assert.Equal(before, (await SendAsync(Alice, HttpMethod.Get, "/api/instances")).Body!.AsArray().Count);
    }

    [Fact]
    public async Task Start_GrantTheCallerIsNotAMemberOf_RefusedAndNothingBoots()
    {
        var (_, created) = await SendAsync(Alice, HttpMethod.Post, "/api/instances", new { template = "small", account = "bob-lab" });
        string id = created!["instance"]!["id"]!.GetValue<string>();
        var (status, _) = await SendAsync(Alice, HttpMethod.Post, $"/api/instances/{id}/start");
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("Stopped", (await SendAsync(Alice, HttpMethod.Get, $"/api/instances/{id}")).Body!["instance"]!["state"]!.GetValue<string>());
        await SendAsync(Alice, HttpMethod.Delete, $"/api/instances/{id}");
    }
}

using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using CompGrid.Docker.Engine;
using CompGrid.Docker.Jobs;

namespace CompGrid.Docker.Tests;

/// <summary>The Engine API facade (Docker.DotNet underneath) against a fake engine on loopback HTTP (no dockerd).</summary>
[Trait("Category", "Docker")]
public sealed class EngineClientTests : IAsyncLifetime
{
    private readonly List<LoopbackEngine> _servers = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var s in _servers) await s.DisposeAsync();
    }

    private static HttpResponseMessage Json(HttpStatusCode status, string body) => new(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") };

    /// <summary>A fake engine speaking API <paramref name="api"/>; <paramref name="route"/> answers everything else.</summary>
    private async Task<(DockerEngineClient Client, LoopbackEngine Server)> CreateAsync(Func<HttpRequestMessage, HttpResponseMessage?> route, string api = "1.41", string min = "1.12", string clientMax = "1.47", string node = "lab-a")
    {
        var server = await LoopbackEngine.StartAsync(r =>
        {
            string path = r.RequestUri!.AbsolutePath;
            if (path == "/_ping") { var ok = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("OK") }; ok.Headers.Add("Api-Version", api); return ok; }
            if (path == "/version") return Json(HttpStatusCode.OK, $"{{\"Version\":\"20.10.24\",\"ApiVersion\":\"{api}\",\"MinAPIVersion\":\"{min}\"}}");
            return route(r) ?? Json(HttpStatusCode.NotFound, "{\"message\":\"page not found\"}");
        });
        _servers.Add(server);
        var endpoint = DockerEndpoint.TryParse(server.Endpoint, false, out _)!;
        return (new DockerEngineClient("lab", node, endpoint, null, TimeProvider.System, TimeSpan.FromSeconds(5), clientMax), server);
    }

    [Fact]
    public async Task Calls_RecordDurationAndFailuresByCode_OnTheCompGridMeter()
    {
        string node = "telemetry-" + Guid.NewGuid().ToString("N");
        var measured = new ConcurrentBag<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == CompGridDiagnostics.SourceName && instrument.Name.StartsWith("compgrid.docker.", StringComparison.Ordinal))
                l.EnableMeasurementEvents(instrument);
        };
        void Capture(Instrument instrument, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var t = tags.ToArray().ToDictionary(kv => kv.Key, kv => kv.Value as string);
            if (t.GetValueOrDefault("node") != node) return; // other tests run in parallel
            measured.Add($"{instrument.Name} {t["operation"]} {t.GetValueOrDefault("code")}".TrimEnd());
        }
        listener.SetMeasurementEventCallback<double>((i, _, tags, _) => Capture(i, tags));
        listener.SetMeasurementEventCallback<long>((i, _, tags, _) => Capture(i, tags));
        listener.Start();

        var (client, _) = await CreateAsync(r => r.RequestUri!.AbsolutePath.EndsWith("/info", StringComparison.Ordinal)
            ? Json(HttpStatusCode.OK, "{\"NCPU\":2,\"MemTotal\":1073741824}") : null, node: node);
        using var __ = client;
        await client.GetInfoAsync();
        await Assert.ThrowsAsync<CompGridException>(() => client.StartContainerAsync("missing", "cg-1"));

        Assert.Contains("compgrid.docker.call.duration info", measured);
        Assert.Contains("compgrid.docker.call.duration start", measured);
        Assert.Contains("compgrid.docker.errors start docker-404", measured);
        Assert.DoesNotContain(measured, m => m.StartsWith("compgrid.docker.errors info", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Negotiate_OlderEngine_UsesEngineVersionAndPrefixesPaths()
    {
        var (client, handler) = await CreateAsync(r => Json(HttpStatusCode.OK, "{\"NCPU\":2,\"MemTotal\":1073741824}"));
        using var _ = client;
        var info = await client.GetInfoAsync();
        Assert.Equal(2, info.NCpu);
        Assert.Equal("1.41", client.ApiVersion);
        Assert.Contains("GET /v1.41/info", handler.Requests);
    }

    [Fact]
    public async Task Negotiate_NewerEngine_CapsAtClientMax()
    {
        var (client, _) = await CreateAsync(_ => null, api: "1.52", min: "1.40");
        using var __ = client;
        Assert.Equal("1.47", await client.NegotiateAsync());
    }

    [Fact]
    public async Task Negotiate_EngineBelowFloor_FailsClearly()
    {
        var (client, _) = await CreateAsync(_ => null, api: "1.39");
        using var __ = client;
        var e = await Assert.ThrowsAsync<CompGridException>(() => client.NegotiateAsync());
        Assert.Contains("1.40", e.Message, StringComparison.Ordinal);
        Assert.False(e.IsTransient);
    }

    [Theory]
    [InlineData("1.47", "1.41", null, "1.41")]
    [InlineData("1.47", "1.56", "1.44", "1.47")]
    [InlineData("1.47", "1.9", null, null)]
    [InlineData("1.43", "1.50", "1.44", null)]
    [InlineData("1.47", "1.100", "1.40", "1.47")]
    public void Negotiate_Table(string client, string engine, string? min, string? expected)
    {
        if (expected is null) Assert.Throws<CompGridException>(() => DockerEngineClient.Negotiate(client, engine, min, "n", "e"));
        else Assert.Equal(expected, DockerEngineClient.Negotiate(client, engine, min, "n", "e"));
    }

    [Fact]
    public async Task Errors_404Body_MappedNotTransient()
    {
        var (client, _) = await CreateAsync(_ => Json(HttpStatusCode.NotFound, "{\"message\":\"No such container: abc\"}"));
        using var __ = client;
        var e = await Assert.ThrowsAsync<CompGridException>(() => client.StartContainerAsync("abc", "cg-1"));
        Assert.Equal("docker-404", e.Code);
        Assert.Equal("start", e.Operation);
        Assert.Equal("cg-1", e.JobId);
        Assert.Equal("lab", e.Backend);
        Assert.False(e.IsTransient);
        Assert.Contains("No such container: abc", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Errors_409Conflict_NotTransient()
    {
        var (client, _) = await CreateAsync(_ => Json(HttpStatusCode.Conflict, "{\"message\":\"Conflict. The container name \\\"/cg-1\\\" is already in use\"}"));
        using var __ = client;
        var e = await Assert.ThrowsAsync<CompGridException>(() => client.CreateContainerAsync("cg-1", new ContainerCreateRequest { Image = "x" }, "cg-1"));
        Assert.Equal("docker-409", e.Code);
        Assert.False(e.IsTransient);
    }

    [Fact]
    public async Task Errors_503_TransientAndRetriedForReads()
    {
        int calls = 0;
        var (client, _) = await CreateAsync(r => r.RequestUri!.AbsolutePath.EndsWith("/info", StringComparison.Ordinal)
            ? (Interlocked.Increment(ref calls) < 3 ? Json(HttpStatusCode.ServiceUnavailable, "{\"message\":\"busy\"}") : Json(HttpStatusCode.OK, "{\"NCPU\":4}"))
            : null);
        using var __ = client;
        Assert.Equal(4, (await client.GetInfoAsync()).NCpu);
        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task Errors_ConnectionRefused_UnreachableAndTransient()
    {
        var endpoint = DockerEndpoint.TryParse("unix:///tmp/cg-no-such-socket-" + Guid.NewGuid().ToString("N") + ".sock", false, out _)!;
        using var client = new DockerEngineClient("lab", "lab-z", endpoint, null, TimeProvider.System, TimeSpan.FromSeconds(5), "1.47");
        var e = await Assert.ThrowsAsync<CompGridException>(() => client.PingAsync(TimeSpan.FromSeconds(2)));
        Assert.Equal(DockerEngineClient.UnreachableCode, e.Code);
        Assert.True(e.IsTransient);
        Assert.Contains("lab-z", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pull_ErrorInsideOkStream_Thrown()
    {
        var (client, _) = await CreateAsync(r => r.RequestUri!.AbsolutePath.EndsWith("/images/create", StringComparison.Ordinal)
            ? Json(HttpStatusCode.OK, "{\"status\":\"Pulling from library/x\",\"id\":\"latest\"}\n{\"errorDetail\":{\"message\":\"manifest for x:latest not found\"},\"error\":\"manifest for x:latest not found\"}\n")
            : null);
        using var __ = client;
        var e = await Assert.ThrowsAsync<CompGridException>(() => client.PullImageAsync("x", null, "cg-1"));
        Assert.Contains("manifest for x:latest not found", e.Message, StringComparison.Ordinal);
        Assert.Equal("pull", e.Operation);
        Assert.False(e.IsTransient);
    }

    [Fact]
    public async Task Pull_CleanStream_Succeeds()
    {
        var (client, handler) = await CreateAsync(r => r.RequestUri!.AbsolutePath.EndsWith("/images/create", StringComparison.Ordinal)
            ? Json(HttpStatusCode.OK, "{\"status\":\"Pulling\"}\n{\"status\":\"Digest: sha256:1\"}\n{\"status\":\"Status: Downloaded newer image\"}\n")
            : null);
        using var __ = client;
        await client.PullImageAsync("registry.example:5000/team/img:2.1", null, null);
        Assert.Contains(handler.Requests, r => r.Contains("fromImage=registry.example%3A5000%2Fteam%2Fimg", StringComparison.Ordinal) && r.Contains("tag=2.1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ListContainers_LabelFilter_UrlEncodedJson()
    {
        var (client, handler) = await CreateAsync(r => r.RequestUri!.AbsolutePath.EndsWith("/containers/json", StringComparison.Ordinal)
            ? Json(HttpStatusCode.OK, "[{\"Id\":\"c1\",\"State\":\"running\",\"Labels\":{\"compgrid.job\":\"cg-1\"}}]")
            : null);
        using var __ = client;
        var list = await client.ListContainersAsync(["compgrid.owner=alice"], all: true);
        Assert.Equal("cg-1", list.Single().Labels!["compgrid.job"]);
        string request = handler.Requests.Single(r => r.Contains("/containers/json", StringComparison.Ordinal));
        Assert.Contains("all=1", request, StringComparison.Ordinal);
        Assert.Contains(Uri.EscapeDataString("{\"label\":{\"compgrid.owner=alice\":true}}"), request, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pull_CredentialGoesOnlyToItsOwnRegistry()
    {
        var (client, server) = await CreateAsync(r => r.RequestUri!.AbsolutePath.EndsWith("/images/create", StringComparison.Ordinal)
            ? Json(HttpStatusCode.OK, "{\"status\":\"Status: Downloaded newer image\"}\n")
            : null);
        using var __ = client;
        DockerRegistryCredential[] credentials = [new() { Registry = "registry.example.edu", Username = "lab", Password = "s3cret" }];
        await client.PullImageAsync("registry.example.edu/team/img:1", ImageReference.CredentialFor("registry.example.edu/team/img:1", credentials), null);
        await client.PullImageAsync("evil.example.com/team/img:1", ImageReference.CredentialFor("evil.example.com/team/img:1", credentials), null);

        var own = Assert.Single(server.HeadersOf("fromImage=registry.example.edu"));
        string auth = own["X-Registry-Auth"];
        string json = Encoding.UTF8.GetString(Convert.FromBase64String(auth.Replace('-', '+').Replace('_', '/').PadRight((auth.Length + 3) / 4 * 4, '=')));
        Assert.Contains("registry.example.edu", json, StringComparison.Ordinal);
        Assert.Contains("s3cret", json, StringComparison.Ordinal);
        var other = Assert.Single(server.HeadersOf("fromImage=evil.example.com"));
        Assert.True(!other.TryGetValue("X-Registry-Auth", out var sent) || !Encoding.UTF8.GetString(Convert.FromBase64String(sent.Replace('-', '+').Replace('_', '/').PadRight((sent.Length + 3) / 4 * 4, '='))).Contains("s3cret", StringComparison.Ordinal),
            "another registry's secret was sent");
    }

    [Theory]
    [InlineData("busybox", "docker.io")]
    [InlineData("compgrid/busybox:test", "docker.io")]
    [InlineData("registry.example.edu/a/b:1", "registry.example.edu")]
    [InlineData("localhost:5000/x", "localhost:5000")]
    [InlineData("index.docker.io/library/x", "docker.io")]
    public void ImageReference_Registry(string image, string registry) => Assert.Equal(registry, ImageReference.Registry(image));

    [Fact]
    public async Task Inspect_Missing_ReturnsNull()
    {
        var (client, _) = await CreateAsync(_ => Json(HttpStatusCode.NotFound, "{\"message\":\"No such container: x\"}"));
        using var __ = client;
        Assert.Null(await client.InspectContainerAsync("x", null));
    }

    [Fact]
    public async Task Events_JsonLines_ReportedInTheEnginesOrder()
    {
        var (client, _) = await CreateAsync(r => r.RequestUri!.AbsolutePath.EndsWith("/events", StringComparison.Ordinal)
            ? Json(HttpStatusCode.OK, "{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":\"c1\",\"Attributes\":{\"compgrid.job\":\"cg-1\"}},\"time\":100}\n{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"c1\",\"Attributes\":{\"exitCode\":\"3\"}},\"time\":101}\n")
            : null);
        using var __ = client;
        var events = new List<DockerEvent>();
        await foreach (var ev in client.MonitorEventsAsync(new Dictionary<string, string[]> { ["type"] = ["container"] }, null)) events.Add(ev);
        Assert.Equal(["start", "die"], events.Select(e => e.Action!).ToArray());
        Assert.Equal("3", events[1].Actor!.Attributes!["exitCode"]);
    }

    [Theory]
    [InlineData("busybox", "busybox", "latest")]
    [InlineData("compgrid/busybox:test", "compgrid/busybox", "test")]
    [InlineData("registry:5000/a/b", "registry:5000/a/b", "latest")]
    [InlineData("registry:5000/a/b:1.2", "registry:5000/a/b", "1.2")]
    [InlineData("img@sha256:abc", "img", "sha256:abc")]
    public void SplitImage_Shapes(string image, string name, string tag) => Assert.Equal((name, tag), ImageReference.Split(image));

    [Theory]
    [InlineData("unix:///var/run/docker.sock", "/var/run/docker.sock", false, "unix:///var/run/docker.sock")]
    [InlineData("tcp://127.0.0.5:2376", null, true, "tcp://127.0.0.5:2376/")]
    [InlineData("http://127.0.0.1:2375", null, false, "http://127.0.0.1:2375/")]
    public void Endpoint_Parse(string text, string? socket, bool tls, string clientUri)
    {
        var ep = DockerEndpoint.TryParse(text, tls, out string? error);
        Assert.Null(error);
        Assert.Equal(socket, ep!.SocketPath);
        Assert.Equal(tls, ep.UseTls);
        Assert.Equal(clientUri, ep.ClientUri.ToString());
    }

    [Theory]
    [InlineData("unix://relative.sock")]
    [InlineData("ftp://x:1")]
    [InlineData("tcp://host")]
    public void Endpoint_Invalid_Explained(string text)
    {
        Assert.Null(DockerEndpoint.TryParse(text, false, out string? error));
        Assert.NotNull(error);
    }
}

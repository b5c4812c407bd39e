using System.Formats.Tar;
using CompGrid.Docker.Engine;
using CompGrid.Testing;

namespace CompGrid.Docker.Tests;

/// <summary>The Engine API client against a real dockerd.</summary>
[Collection(DockerCollection.Name)]
[Trait("Category", "Docker")]
public sealed class EngineClientRealTests(DockerEnginesFixture fixture)
{
    private const string Env = DockerEnginesFixture.HostVariable;

    [BackendFact("Docker", Env)]
    public async Task Negotiate_RealEngine_PicksEngineVersionAtLeast140()
    {
        using var client = fixture.Client(fixture.Host1);
        string v = await client.NegotiateAsync();
        Assert.True(Version.Parse(v) >= new Version(1, 40), v);
        var info = await client.GetInfoAsync();
        Assert.True(info.NCpu > 0);
    }

    [BackendFact("Docker", Env)]
    public async Task Stats_RunningContainer_ReportsCpuAndMemory()
    {
        using var client = fixture.Client(fixture.Host1);
        var created = await client.CreateContainerAsync("cg-stats-" + Guid.NewGuid().ToString("N")[..8],
            new ContainerCreateRequest { Image = fixture.Image, Cmd = ["sh", "-c", "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; sleep 20"], Labels = new Dictionary<string, string> { ["compgrid.test"] = "1" } }, null);
        try
        {
            await client.StartContainerAsync(created.Id, null);
            var stats = await Poll.ConditionAsync(() => client.GetStatsAsync(created.Id, null), s => s is { CpuStats.CpuUsage.TotalUsage: > 0 }, "cpu usage");
            Assert.True(stats!.MemoryStats.Usage > 0 || stats.MemoryStats.MaxUsage > 0);
            var listed = await client.ListContainersAsync(["compgrid.test=1"], all: true);
            Assert.Contains(listed, c => c.Id == created.Id);
        }
        finally
        {
            await client.RemoveContainerAsync(created.Id, force: true, volumes: true, null);
        }
        Assert.Null(await client.InspectContainerAsync(created.Id, null));
        Assert.False(await client.RemoveContainerAsync(created.Id, force: true, volumes: true, null));
    }

    [BackendFact("Docker", Env)]
    public async Task Images_ImportListInspect_RoundTrip()
    {
        using var client = fixture.Client(fixture.Host2);
        using var rootfs = new MemoryStream();
        using (var writer = new TarWriter(rootfs, TarEntryFormat.Pax, leaveOpen: true))
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "etc/"));
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "etc/hello") { DataStream = new MemoryStream("hi"u8.ToArray()) });
        }
        rootfs.Position = 0;
        string tag = "t" + Guid.NewGuid().ToString("N")[..6];
        string? status = await client.ImportImageAsync(rootfs, "compgrid/imported", tag, ["CMD [\"/bin/true\"]"]);
        Assert.StartsWith("sha256:", status, StringComparison.Ordinal);
        var inspect = await client.InspectImageAsync("compgrid/imported:" + tag);
        Assert.NotNull(inspect);
        Assert.Contains(await client.ListImagesAsync(), i => i.RepoTags?.Contains("compgrid/imported:" + tag) == true);
        Assert.Null(await client.InspectImageAsync("compgrid/never-imported:" + tag));
    }

    [BackendFact("Docker", Env)]
    public async Task Errors_UnknownContainer_MapTo404NotTransient()
    {
        using var client = fixture.Client(fixture.Host1);
        var e = await Assert.ThrowsAsync<CompGridException>(() => client.StartContainerAsync("no-such-container-cg", null));
        Assert.Equal("docker-404", e.Code);
        Assert.False(e.IsTransient);
        Assert.Contains("No such container", e.Message, StringComparison.Ordinal);
    }

    [BackendFact("Docker", Env)]
    public async Task FollowLogsAndWait_RunningContainer_StreamsFramesUntilExit()
    {
        using var client = fixture.Client(fixture.Host1);
        var created = await client.CreateContainerAsync("cg-follow-" + Guid.NewGuid().ToString("N")[..8],
            new ContainerCreateRequest { Image = fixture.Image, Cmd = ["sh", "-c", "echo first; sleep 1; echo oops >&2; echo second; exit 5"] }, null);
        try
        {
            await client.StartContainerAsync(created.Id, null);
            var frames = new List<StreamFrame>();
            await foreach (var f in client.FollowLogsAsync(created.Id, null)) frames.Add(f);
            string stdout = string.Concat(frames.Where(f => f.Kind == StreamKind.Stdout).Select(f => System.Text.Encoding.UTF8.GetString(f.Payload.Span)));
            Assert.Equal("first\nsecond\n", stdout);
            Assert.Contains(frames, f => f.Kind == StreamKind.Stderr);
            var wait = await client.WaitContainerAsync(created.Id, null);
            Assert.Equal(5, wait.StatusCode);
        }
        finally
        {
            await client.RemoveContainerAsync(created.Id, force: true, volumes: true, null);
        }
    }
}

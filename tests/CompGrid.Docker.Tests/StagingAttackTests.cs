namespace CompGrid.Docker.Tests;

/// <summary>
/// The untrusted-container attacks of issue 9 against a real dockerd: what a container writes can never make the
/// portal write outside the job's output directory, output archives are bounded, images come only from the allowed
/// registries and jobs get no network unless an operator named one.
/// </summary>
[Collection(DockerCollection.Name)]
[Trait("Category", "Docker")]
public sealed class StagingAttackTests(DockerEnginesFixture fixture)
{
    private const string Env = DockerEnginesFixture.HostVariable;

    private static string NewJobId() => "cg-atk-" + Guid.NewGuid().ToString("N")[..12];

    private static BackendJobRequest Request(JobSpec spec) => new()
    {
        JobId = NewJobId(),
        Spec = spec,
        Nodes = ["lab-a"],
        MemoryMiBPerNode = 64,
        Walltime = TimeSpan.FromMinutes(5),
    };

    private static JobSpec Spec(string name, JobPayload payload) =>
        new() { Name = name, Owner = "mallory", Account = "grant-42", Payload = payload, Resources = new() { Cpus = 1, MemoryMiB = 64 } };

    private static async Task<string> RunToEndAsync(IComputeBackend backend, JobSpec spec)
    {
        string id = await backend.SubmitAsync(Request(spec));
        var status = await Poll.TerminalAsync(backend, id);
        Assert.True(status.State == JobState.Completed, $"{status} {(await backend.GetLogsAsync(id)).StandardError}");
        return id;
    }

    /// <summary>Every file and link below <paramref name="root"/> stays below it once links are resolved.</summary>
    private static void AssertEverythingInside(string root)
    {
        if (!Directory.Exists(root)) return;
        string full = Path.GetFullPath(root) + Path.DirectorySeparatorChar;
        foreach (var info in new DirectoryInfo(root).EnumerateFileSystemInfos("*", SearchOption.AllDirectories))
        {
            if (info.LinkTarget is null) continue;
            var resolved = info.ResolveLinkTarget(returnFinalTarget: true);
            Assert.True(resolved is null || (resolved.FullName + Path.DirectorySeparatorChar).StartsWith(full, StringComparison.Ordinal),
                $"{info.FullName} -> {info.LinkTarget} resolves to {resolved?.FullName}, outside {root}");
        }
    }

    [BackendFact("Docker", Env)]
    public async Task StageOut_ChainedLinkAttack_NothingWrittenOutsideTheOutputDirectory()
    {
        // The attack of issue 9: `s -> .` and `up -> s/s/s/s/s/s/s/s/../../../../../../../..` collapse textually to
        // "." but resolve to "/", and the second output is written through res/up into /root.
        string marker = "cg-attack-" + Guid.NewGuid().ToString("N")[..8];
        string outputs = Path.Combine(fixture.Scratch, "attack-" + Guid.NewGuid().ToString("N")[..6]);
        var spec = Spec("chained-links", JobPayload.Command(
            "mkdir -p r && ln -s . r/s && ln -s s/s/s/s/s/s/s/s/../../../../../../../.. r/up && echo pwned > f")) with
        {
            Outputs =
            [
                new StagingItem { Source = "r", Destination = "res" },
                new StagingItem { Source = "f", Destination = "res/up/root/" + marker },
            ],
            OutputDirectory = outputs,
        };
        string id = await RunToEndAsync(fixture.Single, spec);

        var e = await Assert.ThrowsAsync<CompGridException>(() => fixture.Single.CompleteAsync(id));
        Assert.Equal("unsafe-archive", e.Code);
        Assert.Contains("'r/up'", e.Message, StringComparison.Ordinal);
        Assert.Contains("outside", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine("/root", marker)), "the portal wrote a host file outside the output directory");
        Assert.False(File.Exists(Path.Combine(Path.GetPathRoot(outputs)!, marker)));
        Assert.False(Directory.Exists(Path.Combine(outputs, "res", "s")), "nothing of the rejected output is written");
        AssertEverythingInside(outputs);
        // The second output, not a link, lands as plain directories inside the output directory.
        Assert.Equal("pwned\n", File.ReadAllText(Path.Combine(outputs, "res", "up", "root", marker)));
        Assert.Null(new FileInfo(Path.Combine(outputs, "res", "up")).LinkTarget);
    }

    [BackendFact("Docker", Env)]
    public async Task StageOut_LinkThenWriteThroughIt_SecondOutputRefused()
    {
        // A link that stays inside is staged; a later output written through a link that leads out is not.
        string outputs = Path.Combine(fixture.Scratch, "through-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(Path.Combine(outputs, "res"));
        File.CreateSymbolicLink(Path.Combine(outputs, "res", "up"), "../.."); // left by an earlier job, say
        var spec = Spec("through-link", JobPayload.Command("echo pwned > f")) with
        {
            Outputs = [new StagingItem { Source = "f", Destination = "res/up/x-" + Guid.NewGuid().ToString("N")[..6] }],
            OutputDirectory = outputs,
        };
        string id = await RunToEndAsync(fixture.Single, spec);
        var e = await Assert.ThrowsAsync<CompGridException>(() => fixture.Single.CompleteAsync(id));
        Assert.Equal("unsafe-archive", e.Code);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(outputs)!, spec.Outputs[0].Destination.Split('/')[^1]));
    }

    [BackendFact("Docker", Env)]
    public async Task StageOut_OverMaxOutputBytes_RefusedWithOutputLimitAndNothingLeft()
    {
        var backend = fixture.Create("docker-small-out", o => o.MaxOutputBytes = 64 * 1024);
        string outputs = Path.Combine(fixture.Scratch, "big-" + Guid.NewGuid().ToString("N")[..6]);
        var spec = Spec("big", JobPayload.Command("mkdir -p r && echo small > r/a && dd if=/dev/zero of=r/big bs=1024 count=1024 2>/dev/null")) with
        {
            Outputs = [new StagingItem { Source = "r", Destination = "res" }],
            OutputDirectory = outputs,
        };
        string id = await RunToEndAsync(backend, spec);
        var e = await Assert.ThrowsAsync<CompGridException>(() => backend.CompleteAsync(id));
        Assert.Equal("output-limit", e.Code);
        Assert.Contains("MaxOutputBytes", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(outputs, "res")), "nothing partial is left behind");
        using var client = fixture.Client(fixture.Host1);
        Assert.Null(await client.InspectContainerAsync(id.Split('/')[1], null)); // the container is removed all the same
    }

    [BackendFact("Docker", Env)]
    public async Task StageOut_OverMaxOutputFiles_RefusedWithOutputLimitAndNothingLeft()
    {
        var backend = fixture.Create("docker-few-out", o => o.MaxOutputFiles = 5);
        string outputs = Path.Combine(fixture.Scratch, "many-" + Guid.NewGuid().ToString("N")[..6]);
        var spec = Spec("many", JobPayload.Command("mkdir -p r && for i in $(seq 1 20); do echo $i > r/f$i; done")) with
        {
            Outputs = [new StagingItem { Source = "r", Destination = "res" }],
            OutputDirectory = outputs,
        };
        string id = await RunToEndAsync(backend, spec);
        var e = await Assert.ThrowsAsync<CompGridException>(() => backend.CompleteAsync(id));
        Assert.Equal("output-limit", e.Code);
        Assert.Contains("MaxOutputFiles", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(outputs, "res")));
    }

    [BackendFact("Docker", Env)]
    public async Task Submit_ImageFromUnlistedRegistry_RejectedNamingPayloadImageAndNothingCreated()
    {
        var backend = fixture.Create("docker-registries", o =>
        {
            o.DefaultImage = null;
            o.AllowedRegistries = ["registry.example.edu", "docker.io"];
        });
        var request = Request(Spec("miner", JobPayload.Container("evil.example.com/miner:1", "run")));
        var e = await Assert.ThrowsAsync<JobValidationException>(() => backend.SubmitAsync(request));
        var error = Assert.Single(e.Errors, x => x.Field == "payload.image");
        Assert.Contains("evil.example.com", error.Message, StringComparison.Ordinal);
        using var client = fixture.Client(fixture.Host1);
        Assert.Empty(await client.ListContainersAsync(["compgrid.job=" + request.JobId], all: true));

        // An image of an allowed registry (the local test image is docker.io's) still runs.
        string id = await RunToEndAsync(backend, Spec("allowed", JobPayload.Container(fixture.Image, "true")));
        await backend.CompleteAsync(id);
    }

    [BackendFact("Docker", Env)]
    public async Task Submit_NetworkWithoutNamedNetwork_RejectedNamingPayloadNetwork()
    {
        var request = Request(Spec("net", JobPayload.Container(fixture.Image, "true") with { Network = true }));
        var e = await Assert.ThrowsAsync<JobValidationException>(() => fixture.Single.SubmitAsync(request));
        Assert.Contains(e.Errors, x => x.Field == "payload.network");
    }
}

using System.Text.Json;
using CompGrid.Docker.Engine;
using CompGrid.Docker.Jobs;

namespace CompGrid.Docker.Tests;

[Trait("Category", "Docker")]
public sealed class RequestShapeTests
{
    private static readonly DockerBackendOptions Options = new()
    {
        Engines = [new DockerEngineOptions { Name = "lab-a", Endpoint = "unix:///tmp/a.sock" }, new DockerEngineOptions { Name = "lab-b", Endpoint = "unix:///tmp/b.sock" }],
        DefaultImage = "compgrid/busybox:test",
        NetworkMode = "bridge",
    };

    private static BackendJobRequest Request(JobPayload payload, int cpus = 2, long memoryMiB = 512, int gpus = 0, string node = "lab-b") => new()
    {
        JobId = "cg-01ABC",
        Spec = new JobSpec
        {
            Name = "shape", Owner = "alice", Account = "grant-7", Payload = payload,
            Resources = new() { Cpus = cpus, MemoryMiB = memoryMiB, Gpus = gpus },
            Environment = new Dictionary<string, string> { ["FOO"] = "bar" },
            Labels = new Dictionary<string, string> { ["project"] = "x" },
            Outputs = [new StagingItem { Source = "results", Destination = "res" }],
        },
        Nodes = [node],
        MemoryMiBPerNode = memoryMiB,
        Walltime = TimeSpan.FromMinutes(90),
    };

    private static JsonElement Json(ContainerPlan plan) => JsonDocument.Parse(DockerJson.Serialize(plan.Request)).RootElement;

    [Fact]
    public void Build_ContainerPayload_SecureDefaultsAndLimits()
    {
        var plan = ContainerRequestBuilder.Build(Request(JobPayload.Container("python:3.12", "python", "run.py")), Options, "lab", "lab-b", "0,1", "/out");
        var json = Json(plan);
        var host = json.GetProperty("HostConfig");
        Assert.Equal("cg-01ABC", plan.Name);
        Assert.Equal("python:3.12", json.GetProperty("Image").GetString());
        Assert.Equal(["python", "run.py"], json.GetProperty("Cmd").EnumerateArray().Select(e => e.GetString()!).ToArray());
        Assert.False(json.TryGetProperty("Entrypoint", out _));
        Assert.Equal(2_000_000_000, host.GetProperty("NanoCpus").GetInt64());
        Assert.Equal("0,1", host.GetProperty("CpusetCpus").GetString());
        Assert.Equal(512L * 1024 * 1024, host.GetProperty("Memory").GetInt64());
        Assert.Equal(host.GetProperty("Memory").GetInt64(), host.GetProperty("MemorySwap").GetInt64());
        Assert.Equal(4096, host.GetProperty("PidsLimit").GetInt64());
        Assert.False(host.GetProperty("Privileged").GetBoolean());
        Assert.Equal(["ALL"], host.GetProperty("CapDrop").EnumerateArray().Select(e => e.GetString()!).ToArray());
        Assert.Equal(["no-new-privileges"], host.GetProperty("SecurityOpt").EnumerateArray().Select(e => e.GetString()!).ToArray());
        Assert.Equal("none", host.GetProperty("NetworkMode").GetString());
        Assert.True(json.GetProperty("NetworkDisabled").GetBoolean());
        Assert.False(host.GetProperty("ReadonlyRootfs").GetBoolean());
        Assert.True(host.GetProperty("Init").GetBoolean());
        Assert.False(host.TryGetProperty("DeviceRequests", out _));
        Assert.Equal("65534:65534", json.GetProperty("User").GetString());
        Assert.False(json.GetProperty("Tty").GetBoolean());
        Assert.Equal("/compgrid/work", json.GetProperty("WorkingDir").GetString());
        Assert.True(json.GetProperty("Volumes").TryGetProperty("/compgrid", out _));
        var env = json.GetProperty("Env").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Contains("FOO=bar", env);
        Assert.Contains("COMPGRID_JOB_ID=cg-01ABC", env);
        var labels = json.GetProperty("Labels");
        Assert.Equal("cg-01ABC", labels.GetProperty("compgrid.job").GetString());
        Assert.Equal("alice", labels.GetProperty("compgrid.owner").GetString());
        Assert.Equal("grant-7", labels.GetProperty("compgrid.account").GetString());
        Assert.Equal("lab", labels.GetProperty("compgrid.backend").GetString());
        Assert.Equal("true", labels.GetProperty("compgrid.managed").GetString());
        Assert.Equal("5400", labels.GetProperty("compgrid.walltime-seconds").GetString());
        Assert.Equal("x", labels.GetProperty("compgrid.label.project").GetString());
        Assert.Equal(Path.GetFullPath("/out/cg-01ABC"), plan.OutputDirectory);
    }

    [Fact]
    public void Build_Gpus_DeviceRequestShape()
    {
        var plan = ContainerRequestBuilder.Build(Request(JobPayload.Container("cuda:12", "nvidia-smi"), gpus: 2), Options, "lab", "lab-b", null, "/out");
        var dr = Json(plan).GetProperty("HostConfig").GetProperty("DeviceRequests").EnumerateArray().Single();
        Assert.Equal("nvidia", dr.GetProperty("Driver").GetString());
        Assert.Equal(2, dr.GetProperty("Count").GetInt32());
        Assert.Equal([["gpu"]], dr.GetProperty("Capabilities").EnumerateArray().Select(a => a.EnumerateArray().Select(e => e.GetString()!).ToArray()).ToArray());
        Assert.False(dr.TryGetProperty("DeviceIDs", out _)); // Count and DeviceIDs are mutually exclusive
    }

    [Fact]
    public void Build_NetworkAndReadOnly_WhenAsked()
    {
        var payload = JobPayload.Container("img", "x") with { Network = true, ReadOnlyRootFilesystem = true };
        var host = Json(ContainerRequestBuilder.Build(Request(payload), Options, "lab", "lab-b", null, "/out")).GetProperty("HostConfig");
        Assert.Equal("bridge", host.GetProperty("NetworkMode").GetString());
        Assert.True(host.GetProperty("ReadonlyRootfs").GetBoolean());
        Assert.True(host.GetProperty("Tmpfs").TryGetProperty("/tmp", out _));
        Assert.False(host.TryGetProperty("CpusetCpus", out _));
    }

    [Fact]
    public void Build_CommandLineAndScript_UseDefaultImage()
    {
        var cmd = Json(ContainerRequestBuilder.Build(Request(JobPayload.Command("echo $FOO")), Options, "lab", "lab-b", null, "/out"));
        Assert.Equal("compgrid/busybox:test", cmd.GetProperty("Image").GetString());
        Assert.Equal(["/bin/sh", "-c"], cmd.GetProperty("Entrypoint").EnumerateArray().Select(e => e.GetString()!).ToArray());
        Assert.Equal(["echo $FOO"], cmd.GetProperty("Cmd").EnumerateArray().Select(e => e.GetString()!).ToArray());
        var script = ContainerRequestBuilder.Build(Request(JobPayload.FromScript("echo hi", "/bin/ash")), Options, "lab", "lab-b", null, "/out");
        Assert.Equal(".compgrid-job.sh", script.Script!.Value.Name);
        Assert.Equal(["/bin/ash", "/compgrid/work/.compgrid-job.sh"], Json(script).GetProperty("Entrypoint").EnumerateArray().Select(e => e.GetString()!).ToArray());
    }

    [Fact]
    public void Validate_BadRequest_NamesEachField()
    {
        var request = Request(JobPayload.Container("", "x"), cpus: 0, memoryMiB: 4, node: "lab-z") with { };
        request = request with
        {
            Spec = request.Spec with
            {
                Resources = request.Spec.Resources with { Nodes = 2 },
                Inputs = [new StagingItem { Source = "/definitely/missing", Destination = "../up" }],
                Outputs = [new StagingItem { Source = "/abs", Destination = "ok" }],
                WorkingDirectory = "relative",
            },
        };
        var fields = ContainerRequestBuilder.Validate(request, Options, "lab", ["lab-a", "lab-b"]).Select(e => e.Field).ToList();
        Assert.Contains("payload.image", fields);
        Assert.Contains("resources.nodes", fields);
        Assert.Contains("resources.cpus", fields);
        Assert.Contains("resources.memoryMiB", fields);
        Assert.Contains("nodes", fields);
        Assert.Contains("inputs[0].source", fields);
        Assert.Contains("inputs[0].destination", fields);
        Assert.Contains("outputs[0].source", fields);
        Assert.Contains("workingDirectory", fields);
    }

    [Fact]
    public void Validate_NonContainerPayloadWithoutDefaultImage_Rejected()
    {
        var options = new DockerBackendOptions { Engines = Options.Engines };
        var errors = ContainerRequestBuilder.Validate(Request(JobPayload.Command("true")), options, "lab", ["lab-a", "lab-b"]);
        Assert.Contains(errors, e => e.Field == "payload.kind" && e.Message.Contains("DefaultImage", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_NoNodeWithTwoEngines_AsksForPlacement()
    {
        var errors = ContainerRequestBuilder.Validate(Request(JobPayload.Container("i")) with { Nodes = [] }, Options, "lab", ["lab-a", "lab-b"]);
        Assert.Contains(errors, e => e.Field == "nodes" && e.Message.Contains("placement", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("cg-01ABC", "cg-01ABC")]
    [InlineData("job/1 x", "cg-job-1-x")]
    public void ContainerName_IsDeterministicAndValid(string jobId, string expected) => Assert.Equal(expected, ContainerRequestBuilder.ContainerName(jobId));

    [Fact]
    public void PickCores_LeastLoadedFirst()
    {
        Assert.Equal("1", DockerComputeBackend.PickCores([2, 0, 1], 1));
        Assert.Equal("1,2", DockerComputeBackend.PickCores([2, 0, 1], 2));
        Assert.Equal("0", DockerComputeBackend.PickCores([0, 0], 1));
    }

    [Theory]
    [InlineData("lab-a/abc", true, "lab-a", "abc")]
    [InlineData("999999999", false, "", "")]
    [InlineData("/abc", false, "", "")]
    [InlineData("lab-a/", false, "lab-a", "")]
    public void TryParseId_Shapes(string id, bool ok, string node, string container)
    {
        Assert.Equal(ok, DockerComputeBackend.TryParseId(id, out string n, out string c));
        if (ok) { Assert.Equal(node, n); Assert.Equal(container, c); }
    }
}

[Trait("Category", "Docker")]
public sealed class StateMappingTests
{
    private static ContainerState Exited(int code, bool oom = false, string started = "2026-01-01T00:00:00Z", string finished = "2026-01-01T00:00:10Z") =>
        new() { Status = "exited", ExitCode = code, OomKilled = oom, StartedAt = started, FinishedAt = finished };

    [Theory]
    [InlineData("created", JobState.Queued)]
    [InlineData("running", JobState.Running)]
    [InlineData("paused", JobState.Running)]
    [InlineData("restarting", JobState.Running)]
    public void Map_LiveStates(string status, JobState expected) =>
        Assert.Equal(expected, ContainerStateMapper.Map(new ContainerState { Status = status }, default).State);

    [Fact]
    public void Map_Exit0_Completed() => Assert.Equal(JobState.Completed, ContainerStateMapper.Map(Exited(0), default).State);

    [Fact]
    public void Map_Exit3_FailedWithCode()
    {
        var (state, _, exit, signal) = ContainerStateMapper.Map(Exited(3), default);
        Assert.Equal(JobState.Failed, state);
        Assert.Equal(3, exit);
        Assert.Null(signal);
    }

    [Fact]
    public void Map_OomKilled_OutOfMemory() => Assert.Equal(JobState.OutOfMemory, ContainerStateMapper.Map(Exited(137, oom: true), default).State);

    [Fact]
    public void Map_Cancelled_WinsOverSignalExit() =>
        Assert.Equal(JobState.Cancelled, ContainerStateMapper.Map(Exited(143), new JobFlags(true, false, null, null)).State);

    [Fact]
    public void Map_TimedOutFlag_TimedOut() =>
        Assert.Equal(JobState.TimedOut, ContainerStateMapper.Map(Exited(137), new JobFlags(false, true, null, TimeSpan.FromSeconds(5))).State);

    [Fact]
    public void Map_SignalAfterWalltime_TimedOutEvenWithoutFlag() =>
        Assert.Equal(JobState.TimedOut, ContainerStateMapper.Map(Exited(137), new JobFlags(false, false, null, TimeSpan.FromSeconds(5))).State);

    [Fact]
    public void Map_SignalWhileEngineLost_NodeFailedWithReason()
    {
        var lost = DateTimeOffset.Parse("2026-01-01T00:00:08Z", System.Globalization.CultureInfo.InvariantCulture);
        var (state, reason, _, signal) = ContainerStateMapper.Map(Exited(143), new JobFlags(false, false, lost, TimeSpan.FromHours(1)));
        Assert.Equal(JobState.NodeFailed, state);
        Assert.Equal(15, signal);
        Assert.Contains("unreachable", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Map_StartError_FailedWithDaemonMessage()
    {
        var (state, reason, _, _) = ContainerStateMapper.Map(new ContainerState { Status = "exited", ExitCode = 127, Error = "exec: \"nope\": not found" }, default);
        Assert.Equal(JobState.Failed, state);
        Assert.Contains("not found", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Map_Dead_Failed() => Assert.Equal(JobState.Failed, ContainerStateMapper.Map(new ContainerState { Status = "dead", ExitCode = 0 }, default).State);

    [Fact]
    public void ParseTime_DockerZeroTime_IsNull() => Assert.Null(ContainerState.ParseTime("0001-01-01T00:00:00Z"));
}

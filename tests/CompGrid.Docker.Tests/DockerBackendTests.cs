using System.Security.Cryptography;
using CompGrid.Testing;

namespace CompGrid.Docker.Tests;

/// <summary>Container jobs on a real dockerd: limits, secure defaults, OOM, cancel, exit codes, staging, metering.</summary>
[Collection(DockerCollection.Name)]
[Trait("Category", "Docker")]
public sealed class DockerBackendTests(DockerEnginesFixture fixture)
{
    private const string Env = DockerEnginesFixture.HostVariable;

    private IComputeBackend Backend => fixture.Single;

    private static string NewJobId() => "cg-dk-" + Guid.NewGuid().ToString("N")[..12];

    private static BackendJobRequest Request(JobSpec spec, string node = "lab-a", TimeSpan? walltime = null, string? jobId = null) => new()
    {
        JobId = jobId ?? NewJobId(),
        Spec = spec,
        Nodes = [node],
        MemoryMiBPerNode = spec.Resources.MemoryMiB > 0 ? spec.Resources.MemoryMiB : 128,
        Walltime = walltime ?? TimeSpan.FromMinutes(5),
    };

    private static JobSpec Spec(string name, JobPayload payload, int cpus = 1, long memoryMiB = 64) =>
        new() { Name = name, Owner = "alice", Account = "grant-42", Payload = payload, Resources = new() { Cpus = cpus, MemoryMiB = memoryMiB } };

    private async Task<(string Id, BackendJobStatus Status, JobLogs Logs)> RunAsync(JobSpec spec)
    {
        string id = await Backend.SubmitAsync(Request(spec));
        var status = await Poll.TerminalAsync(Backend, id);
        var logs = await Backend.GetLogsAsync(id);
        return (id, status, logs);
    }

    [BackendFact("Docker", Env)]
    public async Task Submit_Limits_VisibleInsideContainer()
    {
        var (id, status, logs) = await RunAsync(Spec("limits", JobPayload.Command(
            // cgroup v1 paths (these machines), with the cgroup v2 files as fallback
            "echo nproc=$(nproc); echo mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max); " +
            "echo quota=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d' ' -f1 /sys/fs/cgroup/cpu.max); " +
            "echo uid=$(id -u); grep -E 'CapEff|NoNewPrivs' /proc/self/status; echo net=$(ls /sys/class/net | tr '\\n' ' '); echo pwd=$(pwd); touch ok && echo writable"),
            cpus: 1, memoryMiB: 64));
        Assert.True(status.State == JobState.Completed, $"{status} {logs}");
        string o = logs.StandardOutput;
        Assert.Contains("nproc=1", o, StringComparison.Ordinal);
        Assert.Contains("mem=67108864", o, StringComparison.Ordinal);
        Assert.Contains("quota=100000", o, StringComparison.Ordinal);
        Assert.Contains("uid=65534", o, StringComparison.Ordinal);
        Assert.Matches(@"CapEff:\s+0000000000000000", o);
        Assert.Matches(@"NoNewPrivs:\s+1", o);
        Assert.Contains("net=lo\n", o, StringComparison.Ordinal);
        Assert.Contains("pwd=/compgrid/work", o, StringComparison.Ordinal);
        Assert.Contains("writable", o, StringComparison.Ordinal);
        await Backend.CompleteAsync(id);
    }

    [BackendFact("Docker", Env)]
    public async Task Submit_OverMemory_EndsOutOfMemory()
    {
        var (id, status, _) = await RunAsync(Spec("oom", JobPayload.Command("x=$(head -c 300000000 /dev/zero | tr '\\0' a); echo survived"), memoryMiB: 32));
        Assert.Equal(JobState.OutOfMemory, status.State);
        Assert.Contains("memory", status.Reason, StringComparison.OrdinalIgnoreCase);
        await Backend.CompleteAsync(id);
    }

    [BackendFact("Docker", Env)]
    public async Task Submit_Exit3_FailsWithExitCode3()
    {
        var (id, status, logs) = await RunAsync(Spec("exit3", JobPayload.Command("echo out; echo err >&2; exit 3")));
        Assert.Equal(JobState.Failed, status.State);
        Assert.Equal(3, status.ExitCode);
        Assert.Equal("out\n", logs.StandardOutput);
        Assert.Equal("err\n", logs.StandardError);
        await Backend.CompleteAsync(id);
        Assert.Equal("err\n", (await Backend.GetLogsAsync(id)).StandardError); // logs stay readable after removal
    }

    [BackendFact("Docker", Env)]
    public async Task Cancel_RunningJob_ContainerGone()
    {
        string id = await Backend.SubmitAsync(Request(Spec("cancel", JobPayload.Container(fixture.Image, "sleep", "300"))));
        await Poll.UntilAsync(Backend, id, s => s.State == JobState.Running, "Running");
        await Backend.CancelAsync(id);
        var status = await Poll.TerminalAsync(Backend, id);
        Assert.Equal(JobState.Cancelled, status.State);
        await Backend.CompleteAsync(id);
        using var client = fixture.Client(fixture.Host1);
        Assert.Null(await client.InspectContainerAsync(id.Split('/')[1], null));
        Assert.Equal(JobState.Cancelled, (await Backend.GetStatusAsync(id))!.State);
    }

    [BackendFact("Docker", Env)]
    public async Task Submit_ScriptAndExecutablePayloads_Run()
    {
        var (a, s1, l1) = await RunAsync(Spec("script", JobPayload.FromScript("#!/bin/sh\necho from-script $COMPGRID_JOB_ID\n")));
        Assert.Equal(JobState.Completed, s1.State);
        Assert.Contains("from-script cg-dk-", l1.StandardOutput, StringComparison.Ordinal);
        var (b, s2, l2) = await RunAsync(Spec("exec", JobPayload.Exec("/bin/echo", "literal", "$HOME", "a b")));
        Assert.Equal(JobState.Completed, s2.State);
        Assert.Equal("literal $HOME a b\n", l2.StandardOutput);
        await Backend.CompleteAsync(a);
        await Backend.CompleteAsync(b);
    }

    [BackendFact("Docker", Env)]
    public async Task Submit_ReadOnlyRootFilesystem_OnlyWorkingDirectoryWritable()
    {
        var payload = JobPayload.Container(fixture.Image, "sh", "-c", "touch /etc/x 2>/dev/null && echo root-writable; echo data > here && cat here") with { ReadOnlyRootFilesystem = true };
        var (id, status, logs) = await RunAsync(Spec("ro", payload));
        Assert.Equal(JobState.Completed, status.State);
        Assert.DoesNotContain("root-writable", logs.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("data", logs.StandardOutput, StringComparison.Ordinal);
        await Backend.CompleteAsync(id);
    }

    [BackendFact("Docker", Env)]
    public async Task Staging_RoundTrip_ByteIdentical()
    {
        string input = Path.Combine(fixture.Scratch, "in-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(Path.Combine(input, "tree", "deep"));
        byte[] blob = RandomNumberGenerator.GetBytes(300_000);
        await File.WriteAllBytesAsync(Path.Combine(input, "blob.bin"), blob);
        await File.WriteAllTextAsync(Path.Combine(input, "tree", "a.txt"), "alpha\n");
        await File.WriteAllBytesAsync(Path.Combine(input, "tree", "deep", "b.bin"), RandomNumberGenerator.GetBytes(4096));
        string outputs = Path.Combine(fixture.Scratch, "out-" + Guid.NewGuid().ToString("N")[..6]);
        var spec = Spec("staging", JobPayload.Command("mkdir -p results && cp data/blob.bin results/ && cp -r tree results/tree && echo made > results/made.txt && ls -R >&2")) with
        {
            Inputs = [new StagingItem { Source = Path.Combine(input, "blob.bin"), Destination = "data/blob.bin" }, new StagingItem { Source = Path.Combine(input, "tree"), Destination = "tree" }],
            Outputs = [new StagingItem { Source = "results", Destination = "res" }, new StagingItem { Source = "results/made.txt", Destination = "made-copy.txt" }],
            OutputDirectory = outputs,
        };
        var (id, status, logs) = await RunAsync(spec);
        Assert.True(status.State == JobState.Completed, $"{status} {logs}");
        await Backend.CompleteAsync(id);
        Assert.Equal(blob, await File.ReadAllBytesAsync(Path.Combine(outputs, "res", "blob.bin")));
        Assert.Equal("alpha\n", await File.ReadAllTextAsync(Path.Combine(outputs, "res", "tree", "a.txt")));
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(input, "tree", "deep", "b.bin")), await File.ReadAllBytesAsync(Path.Combine(outputs, "res", "tree", "deep", "b.bin")));
        Assert.Equal("made\n", await File.ReadAllTextAsync(Path.Combine(outputs, "made-copy.txt")));
        await Backend.CompleteAsync(id); // idempotent
    }

    [BackendFact("Docker", Env)]
    public async Task Staging_TraversalInSpec_RejectedNamingTheField()
    {
        string file = Path.Combine(fixture.Scratch, "x.txt");
        Directory.CreateDirectory(fixture.Scratch);
        await File.WriteAllTextAsync(file, "x");
        var bad = Spec("bad", JobPayload.Command("true")) with { Inputs = [new StagingItem { Source = file, Destination = "../escape.txt" }] };
        var e = await Assert.ThrowsAsync<JobValidationException>(() => Backend.SubmitAsync(Request(bad)));
        Assert.Contains(e.Errors, x => x.Field == "inputs[0].destination");
        var bad2 = Spec("bad2", JobPayload.Command("true")) with { Outputs = [new StagingItem { Source = "/etc/passwd", Destination = "p" }] };
        var e2 = await Assert.ThrowsAsync<JobValidationException>(() => Backend.SubmitAsync(Request(bad2)));
        Assert.Contains(e2.Errors, x => x.Field == "outputs[0].source");
    }

    [BackendFact("Docker", Env)]
    public async Task Staging_OutputLinkEscaping_RejectedAndNothingWrittenOutside()
    {
        string outputs = Path.Combine(fixture.Scratch, "evil-" + Guid.NewGuid().ToString("N")[..6]);
        var spec = Spec("evil", JobPayload.Command("mkdir -p results && echo fine > results/ok.txt && ln -s /etc/passwd results/passwd && ln -s ../../../../../../tmp results/up")) with
        {
            Outputs = [new StagingItem { Source = "results", Destination = "res" }],
            OutputDirectory = outputs,
        };
        var (id, status, _) = await RunAsync(spec);
        Assert.Equal(JobState.Completed, status.State);
        var e = await Assert.ThrowsAsync<CompGridException>(() => Backend.CompleteAsync(id));
        Assert.Equal("unsafe-archive", e.Code);
        Assert.Contains("/etc/passwd", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(outputs, "res")), "nothing of a rejected archive is written");
        using var client = fixture.Client(fixture.Host1);
        Assert.Null(await client.InspectContainerAsync(id.Split('/')[1], null)); // the container is removed all the same
        await Backend.CompleteAsync(id); // and a second completion is a no-op
    }

    [BackendFact("Docker", Env)]
    public async Task GetUsage_BusyJob_ReportsCpuTimeAndPeakMemory()
    {
        string id = await Backend.SubmitAsync(Request(Spec("busy", JobPayload.Command("i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; sleep 1"), memoryMiB: 96)));
        var status = await Poll.TerminalAsync(Backend, id);
        Assert.Equal(JobState.Completed, status.State);
        var usage = await Backend.GetUsageAsync(id);
        Assert.NotNull(usage);
        Assert.Equal("alice", usage.User);
        Assert.Equal("grant-42", usage.Account);
        Assert.Equal(["lab-a"], usage.Nodes);
        Assert.Equal(1, usage.AllocatedCpus);
        Assert.Equal(96, usage.AllocatedMemoryMiB);
        Assert.True(usage.CpuTime > TimeSpan.FromMilliseconds(100), $"cpu time {usage.CpuTime}");
        Assert.True(usage.PeakMemoryBytes > 0, "peak memory");
        Assert.True(usage.Elapsed >= TimeSpan.FromSeconds(1), $"elapsed {usage.Elapsed}");
        await Backend.CompleteAsync(id);
    }

    [BackendFact("Docker", Env)]
    public async Task Submit_ImageNotInAnyRegistry_FailsWithThePullError()
    {
        var e = await Assert.ThrowsAsync<CompGridException>(() => Backend.SubmitAsync(Request(Spec("nope", JobPayload.Container("compgrid/does-not-exist:1", "true")))));
        Assert.Equal("pull", e.Operation);
        Assert.Contains("compgrid/does-not-exist", e.Message, StringComparison.Ordinal);
        Assert.Equal("lab-a", e.Message.Split('\'')[1]);
    }

    [BackendFact("Docker", Env)]
    public async Task Submit_SameJobIdTwice_AdoptsTheFirstContainer()
    {
        string jobId = NewJobId();
        string first = await Backend.SubmitAsync(Request(Spec("twice", JobPayload.Container(fixture.Image, "sleep", "30")), jobId: jobId));
        string second = await Backend.SubmitAsync(Request(Spec("twice", JobPayload.Container(fixture.Image, "sleep", "30")), jobId: jobId));
        Assert.Equal(first, second);
        await Backend.CancelAsync(first);
        await Poll.TerminalAsync(Backend, first);
        await Backend.CompleteAsync(first);
    }

    [BackendFact("Docker", Env)]
    public async Task Watch_ReportsStartAndExit()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var seen = new List<BackendJobStatus>();
        string? id = null;
        var watching = Task.Run(async () =>
        {
            try
            {
                await foreach (var s in ((IBackendEventSource)Backend).WatchAsync(cts.Token))
                {
                    lock (seen) seen.Add(s);
                    if (id is not null && s.BackendJobId == id && s.State.IsTerminal()) return;
                }
            }
            catch (OperationCanceledException) { }
        });
        id = await Backend.SubmitAsync(Request(Spec("watched", JobPayload.Command("sleep 1; exit 4"))));
        await watching;
        lock (seen) Assert.Contains(seen, s => s.BackendJobId == id && s.State == JobState.Failed && s.ExitCode == 4);
        await Backend.CompleteAsync(id);
    }

    [BackendFact("Docker", Env)]
    public async Task NewBackendInstance_AfterRestart_FindsJobByLabelsAndStillEnforcesWalltime()
    {
        string name = "docker-restart-" + Guid.NewGuid().ToString("N")[..4];
        var before = DockerBackend.Create(name, fixture.Options(TimeSpan.FromSeconds(30), DockerEnginesFixture.Engine("lab-a", fixture.Host1)));
        var request = Request(Spec("survivor", JobPayload.Container(fixture.Image, "sleep", "120")), walltime: TimeSpan.FromSeconds(4));
        string id = await before.SubmitAsync(request);
        await Poll.UntilAsync(before, id, s => s.State == JobState.Running, "Running");
        await ((IAsyncDisposable)before).DisposeAsync(); // CompGrid goes away; the container keeps running

        var after = fixture.Create(name, TimeSpan.FromSeconds(30), DockerEnginesFixture.Engine("lab-a", fixture.Host1));
        var listed = new List<BackendJobStatus>();
        await foreach (var s in after.ListJobsAsync()) listed.Add(s);
        var found = Assert.Single(listed);
        Assert.Equal(request.JobId, found.JobId);
        Assert.Equal(id, found.BackendJobId);
        Assert.Equal(JobState.Running, found.State);
        var ended = await Poll.TerminalAsync(after, id, 30);
        Assert.Equal(JobState.TimedOut, ended.State);
        var usage = await after.GetUsageAsync(id);
        Assert.Equal("alice", usage!.User);
        Assert.Equal(64, usage.AllocatedMemoryMiB);
        await after.CompleteAsync(id);
    }
}

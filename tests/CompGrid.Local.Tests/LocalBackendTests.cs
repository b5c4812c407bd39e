using System.Diagnostics;
using CompGrid.Local;
using CompGrid.Local.Processes;

namespace CompGrid.Local.Tests;

[Trait("Category", "Local")]
public sealed class LocalBackendTests(LocalBackendFixture fixture) : IClassFixture<LocalBackendFixture>
{
    private IComputeBackend Backend => fixture.Backend;

    private async Task<string> RunAsync(JobSpec spec, TimeSpan? walltime = null)
    {
        string id = "cg-t-" + Guid.NewGuid().ToString("N")[..12];
        return await Backend.SubmitAsync(new BackendJobRequest { JobId = id, Spec = spec, Nodes = ["n1"], MemoryMiBPerNode = 256, Walltime = walltime ?? TimeSpan.FromMinutes(5) });
    }

    private async Task<BackendJobStatus> WaitAsync(string id, Func<JobState, bool> until)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(30))
        {
            var s = await Backend.GetStatusAsync(id);
            if (s is not null && until(s.State)) return s;
            await Task.Delay(50);
        }
        throw new TimeoutException($"job {id} did not reach the state");
    }

    private static JobSpec Spec(JobPayload payload) => new() { Name = "t", Owner = "tester", Payload = payload };

    [Fact]
    public async Task Cancel_BackgroundChildren_LeavesNoProcessBehind()
    {
        // Two sleeps, one in the background: both must die with the job.
        var id = await RunAsync(Spec(JobPayload.Command("sleep 100 & sleep 100")));
        await WaitAsync(id, s => s == JobState.Running);
        var meta = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(fixture.StateDirectory, "supervisor", id, "meta.json")));
        int pid = meta.RootElement.GetProperty("pid").GetInt32();
        var sw = Stopwatch.StartNew();
        while (ProcFs.Session(pid).Count < 3 && sw.Elapsed < TimeSpan.FromSeconds(5)) await Task.Delay(20);
        Assert.True(ProcFs.Session(pid).Count >= 2, "the job's processes run in its own session");
        await Backend.CancelAsync(id);
        var status = await WaitAsync(id, s => s.IsTerminal());
        Assert.Equal(JobState.Cancelled, status.State);
        sw.Restart();
        while (ProcFs.Session(pid).Count > 0 && sw.Elapsed < TimeSpan.FromSeconds(5)) await Task.Delay(20);
        Assert.Empty(ProcFs.Session(pid));
    }

    [Fact]
    public async Task Submit_ShellMetacharactersInArguments_ArePassedLiterally()
    {
        string tricky = "a'b\"c $(touch /tmp/cg-pwned) `id` ; rm -rf x\nnext";
        var id = await RunAsync(Spec(JobPayload.Exec("/bin/printf", "%s", tricky)));
        var status = await WaitAsync(id, s => s.IsTerminal());
        Assert.Equal(JobState.Completed, status.State);
        Assert.Equal(tricky, (await Backend.GetLogsAsync(id)).StandardOutput);
    }

    [Fact]
    public async Task Submit_EnvironmentAndScript_RunWithCleanEnvironment()
    {
        var spec = Spec(JobPayload.FromScript("#!/bin/sh\necho \"$GREETING from $COMPGRID_JOB_ID\"\necho err >&2\n")) with
        {
            Environment = new Dictionary<string, string> { ["GREETING"] = "hello $(not run)" },
        };
        var id = await RunAsync(spec);
        await WaitAsync(id, s => s.IsTerminal());
        var logs = await Backend.GetLogsAsync(id);
        Assert.Equal($"hello $(not run) from {id}\n", logs.StandardOutput);
        Assert.Equal("err\n", logs.StandardError);
    }

    [Fact]
    public async Task Complete_StagesOutputsAndRemovesWorkingDirectory()
    {
        string outDir = Path.Combine(fixture.StateDirectory, "out-" + Guid.NewGuid().ToString("N")[..6]);
        string input = Path.Combine(fixture.StateDirectory, "input.txt");
        await File.WriteAllTextAsync(input, "payload-42");
        var spec = Spec(JobPayload.Command("mkdir -p res && cp data/in.txt res/copy.txt && echo done > result.txt && ln -s /etc/passwd leak")) with
        {
            Inputs = [new StagingItem { Source = input, Destination = "data/in.txt" }],
            Outputs = [new StagingItem { Source = "result.txt", Destination = "result.txt" }, new StagingItem { Source = "res", Destination = "res" }, new StagingItem { Source = "leak", Destination = "leak" }],
            OutputDirectory = outDir,
        };
        var id = await RunAsync(spec);
        var status = await WaitAsync(id, s => s.IsTerminal());
        Assert.Equal(JobState.Completed, status.State);
        await Backend.CompleteAsync(id);
        Assert.Equal("done\n", await File.ReadAllTextAsync(Path.Combine(outDir, "result.txt")));
        Assert.Equal("payload-42", await File.ReadAllTextAsync(Path.Combine(outDir, "res", "copy.txt")));
        Assert.False(File.Exists(Path.Combine(outDir, "leak")), "a link out of the working directory is not staged");
        Assert.False(Directory.Exists(Path.Combine(fixture.StateDirectory, "jobs", id, "work")), "the working directory is removed");
    }

    [Fact]
    public async Task GetUsage_CpuBoundJob_ReportsCpuTimeAndPeakMemory()
    {
        // Holds ~40 MB for a second (sampled every 100 ms), then is busy for about half a second.
        var id = await RunAsync(Spec(JobPayload.Command("x=$(head -c 40000000 /dev/zero | tr '\\0' a); sleep 1; i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done; echo ${#x}")));
        var status = await WaitAsync(id, s => s.IsTerminal());
        Assert.Equal(JobState.Completed, status.State);
        var usage = await Backend.GetUsageAsync(id);
        Assert.NotNull(usage);
        Assert.True(usage!.CpuTime > TimeSpan.FromMilliseconds(50), $"cpu time {usage.CpuTime}");
        Assert.True(usage.PeakMemoryBytes > 20_000_000, $"peak {usage.PeakMemoryBytes}");
        Assert.Equal(0, usage.ExitCode);
        Assert.Equal(1, usage.AllocatedCpus);
    }

    [Fact]
    public void ReadTimes_ParsesChildrenLine()
    {
        string f = Path.Combine(fixture.StateDirectory, "times-sample");
        File.WriteAllText(f, "0m0.001000s 0m0.002000s\n1m2.500000s 0m0.250000s\n");
        Assert.Equal(TimeSpan.FromSeconds(62.75), CompGrid.Local.Supervision.ShellTimes.Read(f));
    }

    [Fact]
    public void Create_InvalidOptions_NamesTheOption()
    {
        var ex = Assert.Throws<CompGridException>(() => LocalBackend.Create("bad", new LocalBackendOptions { Shell = "/no/such/shell", Nodes = [new LocalNodeOptions { Name = "", Cpus = 0 }] }));
        Assert.Contains("Shell", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Nodes[0].Cpus", ex.Message, StringComparison.Ordinal);
    }
    [Fact]
    public async Task Requeue_LateExitOfTheEarlierRun_LeavesTheNewRunAlone()
    {
        // A requeued job runs again under its id. The earlier run's exit callback can arrive after the new run
        // started (the thread pool is late); it must not write the new run's exit status or kill it (CI saw
        // "killed by signal 9" on the requeued run).
        string id = "cg-t-" + Guid.NewGuid().ToString("N")[..12];
        var request = new BackendJobRequest { JobId = id, Spec = Spec(JobPayload.Command("sleep 300")), Nodes = ["n1"], MemoryMiBPerNode = 256, Walltime = TimeSpan.FromMinutes(5) };
        var local = (LocalComputeBackend)Backend;
        await Backend.SubmitAsync(request);
        await WaitAsync(id, s => s == JobState.Running);
        var firstRun = local.Supervisor.Running.Single(r => r.JobId == id);
        await Backend.CancelAsync(id);
        Assert.Equal(JobState.Cancelled, (await WaitAsync(id, s => s.IsTerminal())).State);
        await Backend.CompleteAsync(id);

        await Backend.SubmitAsync(request);
        await WaitAsync(id, s => s == JobState.Running);
        var secondRun = local.Supervisor.Running.Single(r => r.JobId == id);
        Assert.NotEqual(firstRun.Pid, secondRun.Pid);

        local.Supervisor.OnExited(firstRun, 137);

        var status = await Backend.GetStatusAsync(id);
        Assert.Equal(JobState.Running, status!.State);
        Assert.True(ProcFs.IsAlive(secondRun.Pid, secondRun.StartTime), "the new run's process was killed by the old run's exit");
        Assert.False(File.Exists(Path.Combine(fixture.StateDirectory, "supervisor", id, "exit")), "the old run's exit status was written into the new run's records");
        await Backend.CancelAsync(id);
        Assert.Equal(JobState.Cancelled, (await WaitAsync(id, s => s.IsTerminal())).State);
        await Backend.CompleteAsync(id);
    }
}

using CompGrid.Agent;
using CompGrid.Agents.Protocol;
using CompGrid.Local;
using CompGrid.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace CompGrid.Agents.Tests;

/// <summary>The agent's desktop policy on a manual clock with a fake idle source; the terminals' idle source; suspend with the real Local sandbox.</summary>
[Trait("Category", "Agents")]
public sealed class DesktopPolicyTests
{
    private readonly ManualTimeProvider _time = new();
    private readonly FakeIdle _idle = new();
    private readonly FakeJobs _jobs = new();

    private sealed class FakeIdle : IIdleSource
    {
        public TimeSpan? Idle { get; set; }
        public ValueTask<TimeSpan?> GetIdleTimeAsync(CancellationToken cancellationToken) => ValueTask.FromResult(Idle);
    }

    private sealed class FakeJobs : IDesktopJobs
    {
        public List<string> Jobs { get; } = [];
        public List<string> Calls { get; } = [];
        public IReadOnlyList<string> Running => [.. Jobs];
        public bool Suspend(string jobId) { Calls.Add("suspend " + jobId); return true; }
        public bool Resume(string jobId) { Calls.Add("resume " + jobId); return true; }
        public Task VacateAsync(string jobId, string reason, CancellationToken cancellationToken) { Calls.Add("vacate " + jobId); Jobs.Remove(jobId); return Task.CompletedTask; }
    }

    private DesktopPolicy Policy(DesktopAction action = DesktopAction.Suspend) => new(
        new DesktopPolicyOptions { Enabled = true, MinimumIdle = TimeSpan.FromMinutes(15), OnUserReturn = action, VacateAfter = TimeSpan.FromMinutes(10) },
        _idle, _time, NullLogger.Instance);

    [Fact]
    public async Task Disabled_AlwaysAccepts_AndTouchesNoJob()
    {
        var policy = new DesktopPolicy(new DesktopPolicyOptions(), _idle, _time, NullLogger.Instance);
        _jobs.Jobs.Add("j1");
        _idle.Idle = TimeSpan.Zero;
        await policy.ApplyAsync(_jobs, default);
        Assert.True(policy.Accepting);
        Assert.Empty(_jobs.Calls);
    }

    [Fact]
    public async Task UserAtTheConsole_NoWork_UntilIdleForTheMinimum()
    {
        var policy = Policy();
        Assert.False(policy.Accepting); // until the first look
        _idle.Idle = TimeSpan.FromMinutes(14);
        await policy.ApplyAsync(_jobs, default);
        Assert.False(policy.Accepting);
        _idle.Idle = TimeSpan.FromMinutes(15);
        await policy.ApplyAsync(_jobs, default);
        Assert.True(policy.Accepting);
        _idle.Idle = null; // cannot tell: assume someone is there
        await policy.ApplyAsync(_jobs, default);
        Assert.False(policy.Accepting);
    }

    [Fact]
    public async Task UserComesBack_JobsSuspended_ResumedWhenIdleAgain()
    {
        var policy = Policy();
        _idle.Idle = TimeSpan.FromHours(1);
        await policy.ApplyAsync(_jobs, default);
        _jobs.Jobs.AddRange(["j1", "j2"]);

        _idle.Idle = TimeSpan.FromSeconds(3);
        await policy.ApplyAsync(_jobs, default);
        await policy.ApplyAsync(_jobs, default); // suspended once, not again
        Assert.False(policy.Accepting);
        Assert.Equal(["suspend j1", "suspend j2"], _jobs.Calls);

        _time.Advance(TimeSpan.FromMinutes(9));
        _idle.Idle = TimeSpan.FromMinutes(15);
        await policy.ApplyAsync(_jobs, default);
        Assert.True(policy.Accepting);
        Assert.Equal(["suspend j1", "suspend j2", "resume j1", "resume j2"], _jobs.Calls);
        Assert.Empty(policy.Suspended);
    }

    [Fact]
    public async Task UserStays_SuspendedJobsAreVacatedAfterTheLimit()
    {
        var policy = Policy();
        _jobs.Jobs.Add("j1");
        _idle.Idle = TimeSpan.Zero;
        await policy.ApplyAsync(_jobs, default);
        _time.Advance(TimeSpan.FromMinutes(9));
        await policy.ApplyAsync(_jobs, default);
        Assert.Equal(["suspend j1"], _jobs.Calls);
        _time.Advance(TimeSpan.FromMinutes(1));
        await policy.ApplyAsync(_jobs, default);
        Assert.Equal(["suspend j1", "resume j1", "vacate j1"], _jobs.Calls);
    }

    [Fact]
    public async Task VacatePolicy_EndsJobsAtOnce()
    {
        var policy = Policy(DesktopAction.Vacate);
        _jobs.Jobs.Add("j1");
        _idle.Idle = TimeSpan.FromMinutes(1);
        await policy.ApplyAsync(_jobs, default);
        Assert.Equal(["vacate j1"], _jobs.Calls);
    }

    [Fact]
    public void Options_BadValues_NameTheSetting()
    {
        var errors = new DesktopPolicyOptions { Enabled = true, MinimumIdle = TimeSpan.FromMinutes(-1), VacateAfter = TimeSpan.Zero, IdleSource = "mouse" }.Errors().ToList();
        Assert.Equal(["Agent:Desktop:MinimumIdle must not be negative.", "Agent:Desktop:VacateAfter must be positive.", "Agent:Desktop:IdleSource must be auto, tty or xprintidle (got 'mouse')."], errors);
        Assert.Empty(new DesktopPolicyOptions { IdleSource = "mouse" }.Errors()); // disabled: nothing to check
    }

    [Fact]
    public async Task TtyIdleSource_NewestDeviceAccessIsTheLastActivity()
    {
        string dir = Path.Combine(Path.GetTempPath(), "compgrid-tty-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var now = _time.GetUtcNow().UtcDateTime;
            foreach (var (name, ago) in new[] { ("tty1", 50), ("tty2", 7), ("ptmx", 0), ("other", 0) })
            {
                string f = Path.Combine(dir, name);
                File.WriteAllText(f, "");
                File.SetLastAccessTimeUtc(f, now - TimeSpan.FromMinutes(ago));
            }
            var source = new TtyIdleSource(_time, [(dir, "tty*"), (dir, "ptmx")]);
            Assert.Equal(TimeSpan.FromMinutes(7), await source.GetIdleTimeAsync(default));
            Assert.Null(await new TtyIdleSource(_time, [(Path.Combine(dir, "absent"), "*")]).GetIdleTimeAsync(default));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Registry_AgentNotAccepting_NodeDrains_ThenUpAgain()
    {
        var registry = new AgentRegistry(new AgentBackendOptions { Machines = { ["desk"] = new AgentMachineOptions { TokenSha256 = AgentRegistryTests.Hash("t") } } }, _time, NullLogger.Instance);
        registry.Register("desk", "c1", new AgentRegistration { Cpus = 2, MemoryMiB = 1024, Accepting = false });
        Assert.Equal((NodeState.Draining, "owner-active"), registry.Nodes("agents").Select(n => (n.State, n.NativeState)).Single());
        registry.Heartbeat("desk", "c1", new AgentHeartbeat { Accepting = true });
        Assert.Equal(NodeState.Up, registry.Nodes("agents").Single().State);
        registry.Heartbeat("desk", "c1", new AgentHeartbeat { Accepting = false });
        Assert.Equal(NodeState.Draining, registry.Nodes("agents").Single().State);
    }

    [Fact]
    public async Task RealSandbox_SuspendStopsTheJobsProcesses_ResumeContinues_VacateEndsNodeFailed()
    {
        if (!OperatingSystem.IsLinux()) return;
        string state = Path.Combine(Path.GetTempPath(), "compgrid-desktop-" + Guid.NewGuid().ToString("N")[..8]);
        var sandbox = LocalBackend.Create("agent", new LocalBackendOptions
        {
            StateDirectory = state, KillGracePeriod = TimeSpan.FromMilliseconds(500), SampleInterval = TimeSpan.FromMilliseconds(100),
            Nodes = [new LocalNodeOptions { Name = "agent", Cpus = 2, MemoryMiB = 1024 }],
        });
        await using var runner = new JobRunner(sandbox, "agent", NullLogger.Instance);
        try
        {
            string marker = "41." + Random.Shared.Next(100_000, 999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);
            Assert.Null(await runner.StartAsync(new AgentJobAssignment
            {
                JobId = "cg-desk-1", Spec = new JobSpec { Owner = "alice", Payload = JobPayload.Command("sleep " + marker) }, MemoryMiB = 64, Walltime = TimeSpan.FromMinutes(2),
            }, default));
            int pid = 0;
            await LoopbackAgents.WaitForAsync(() => Task.FromResult((pid = FindSleep(marker)) > 0), TimeSpan.FromSeconds(30), "the job's sleep running");

            Assert.True(runner.Suspend("cg-desk-1"));
            await LoopbackAgents.WaitForAsync(() => Task.FromResult(ProcessState(pid) == 'T'), TimeSpan.FromSeconds(10), "sleep stopped");
            Assert.True(runner.Resume("cg-desk-1"));
            await LoopbackAgents.WaitForAsync(() => Task.FromResult(ProcessState(pid) is 'S' or 'R'), TimeSpan.FromSeconds(10), "sleep continued");

            await runner.VacateAsync("cg-desk-1", "vacated: the machine's user came back", default);
            var reports = new List<AgentJobReport>();
            await LoopbackAgents.WaitForAsync(async () =>
            {
                await runner.PollAsync((method, argument) => { if (argument is AgentJobReport r) reports.Add(r); return Task.CompletedTask; }, default);
                return reports.Any(r => r.State.IsTerminal());
            }, TimeSpan.FromSeconds(30), "the vacated job ended");
            var end = reports.Single(r => r.State.IsTerminal());
            Assert.Equal((JobState.NodeFailed, "vacated: the machine's user came back"), (end.State, end.Reason));
        }
        finally
        {
            await runner.CleanupAsync("cg-desk-1", default);
            try { Directory.Delete(state, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static int FindSleep(string marker)
    {
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try { if (File.ReadAllText(Path.Combine(dir, "cmdline")) == "sleep\0" + marker + "\0") return pid; }
            catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        return 0;
    }

    private static char ProcessState(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[stat.LastIndexOf(')') + 2];
        }
        catch (IOException) { return '?'; }
    }
}

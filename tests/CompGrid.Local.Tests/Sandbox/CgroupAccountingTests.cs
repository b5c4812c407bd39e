using System.Globalization;
using CompGrid.Local.Cgroups;
using Microsoft.Extensions.Logging;

namespace CompGrid.Local.Tests.Sandbox;

/// <summary>Limits and accounting from the job's own cgroup, and the fallback where there is none.</summary>
[Trait("Category", "Local")]
[Collection(SandboxCollection.Name)]
public sealed class CgroupAccountingTests(SandboxFixture fixture)
{
    [SandboxFact]
    public async Task MemoryHog_EndsOutOfMemory()
    {
        Assert.True(((LocalComputeBackend)fixture.Backend).UsesCgroups, "this machine offers cgroups to root");
        var id = await Jobs.SubmitAsync(fixture.Backend, "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived ${#x}", memoryMiB: 32);
        var status = await Jobs.WaitTerminalAsync(fixture.Backend, id);
        Assert.Equal(JobState.OutOfMemory, status.State);
        Assert.DoesNotContain("survived", (await fixture.Backend.GetLogsAsync(id)).StandardOutput, StringComparison.Ordinal);
        var usage = await fixture.Backend.GetUsageAsync(id);
        Assert.Equal(JobState.OutOfMemory, usage!.FinalState);
        Assert.InRange(usage.PeakMemoryBytes ?? 0, 24L << 20, 33L << 20); // the cgroup's peak, at its 32 MiB limit
    }

    [SandboxFact]
    public async Task CpuTime_OfAnEscapedChild_ComesFromTheCgroup()
    {
        // The busy loop runs in a grandchild in a session of its own: the wrapper's wait never sees its CPU time, the cgroup does.
        var id = await Jobs.SubmitAsync(fixture.Backend,
            "setsid -f sh -c 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; echo x > spun'; while [ ! -e spun ]; do sleep 0.05; done");
        Assert.Equal(JobState.Completed, (await Jobs.WaitTerminalAsync(fixture.Backend, id)).State);
        var usage = await fixture.Backend.GetUsageAsync(id);
        Assert.True(usage!.CpuTime > TimeSpan.FromMilliseconds(100), $"cpu time {usage.CpuTime}");
        Assert.True(usage.PeakMemoryBytes > 0, "peak memory from memory.max_usage_in_bytes");
    }

    [SandboxFact]
    public async Task CpuQuotaAndProcessLimit_AreSetFromTheJob()
    {
        // The job reads its own limits (cgroupfs is world-readable); the last lines are /proc/self/cgroup.
        var id = await Jobs.SubmitAsync(fixture.Backend,
            "for c in cpu:cpu.cfs_quota_us memory:memory.limit_in_bytes pids:pids.max; do p=$(awk -F: -v c=${c%%:*} '$2==c{print $3}' /proc/self/cgroup); cat /sys/fs/cgroup/${c%%:*}$p/${c#*:}; done; cat /proc/self/cgroup",
            cpus: 2, memoryMiB: 96);
        await Jobs.WaitTerminalAsync(fixture.Backend, id);
        string cgroups = (await fixture.Backend.GetLogsAsync(id)).StandardOutput;
        var limits = cgroups.Split('\n');
        Assert.Equal("200000", limits[0]);                                               // 2 CPUs of a 100 ms period
        Assert.Equal((96L << 20).ToString(CultureInfo.InvariantCulture), limits[1]);     // memoryMiB
        Assert.Equal("64", limits[2]);                                                   // MaxProcesses
        foreach (string controller in (string[])["cpu", "memory", "pids", "freezer"])
            Assert.Matches($":{controller}:/.*compgrid/sandbox-[0-9a-f]+/{id}\n", cgroups);
        // Gone once the job ended.
        var mounts = CgroupMounts.Detect();
        string dir = mounts.V1["memory"].Resolve("compgrid/" + CgroupDrivers.InstanceName("sandbox", fixture.StateDirectory) + "/" + id);
        Assert.False(Directory.Exists(dir), $"{dir} is removed after the job");

        var forkBomb = await Jobs.SubmitAsync(fixture.Backend, "i=0; while [ $i -lt 100 ]; do sleep 5 & i=$((i+1)); done; echo spawned $i");
        var s = await Jobs.WaitTerminalAsync(fixture.Backend, forkBomb);
        Assert.Contains("fork", (await fixture.Backend.GetLogsAsync(forkBomb)).StandardError, StringComparison.OrdinalIgnoreCase); // MaxProcesses = 64
        _ = s;
    }

    [SandboxFact]
    public async Task CgroupsDisabledByOption_FallsBackToSessionKillWithRlimits_AndSaysSo()
    {
        var logs = new ListLoggerFactory();
        using var backend = fixture.Create(new SandboxOptions(Cgroups: false, StateDirectory: Path.Combine(fixture.Root, "fallback")), logs: logs);
        Assert.False(backend.UsesCgroups);
        Assert.Contains(logs.Messages, m => m.Level == LogLevel.Warning && m.Text.Contains("EnableCgroups is false", StringComparison.Ordinal) && m.Text.Contains("rlimits", StringComparison.Ordinal));

        var id = await Jobs.SubmitAsync(backend, "cat /proc/self/limits /proc/self/cgroup", memoryMiB: 512);
        await Jobs.WaitTerminalAsync(backend, id);
        string output = (await backend.GetLogsAsync(id)).StandardOutput;
        Assert.Matches(@"Max processes\s+64\s+64\s", output);
        Assert.Matches($@"Max address space\s+{512L * 1024 * 1024}\s+{512L * 1024 * 1024}\s", output);
        Assert.DoesNotContain(id, output, StringComparison.Ordinal); // no cgroup of its own

        // A uid of its own still names every process: the escaped child dies with the cancel.
        var escaper = await Jobs.SubmitAsync(backend, "setsid -f sh -c 'trap \"\" TERM; echo $$ > escaped.pid; while :; do sleep 0.05; done'; sleep 100 & sleep 100");
        int escaped = int.Parse(await Jobs.WaitForFileAsync(Path.Combine(fixture.Root, "fallback", "jobs", escaper, "work", "escaped.pid")), CultureInfo.InvariantCulture);
        await backend.CancelAsync(escaper);
        Assert.Equal(JobState.Cancelled, (await Jobs.WaitTerminalAsync(backend, escaper)).State);
        Assert.True(await Jobs.WaitGoneAsync(escaped), "the escaped child died");
    }

    private sealed class ListLoggerFactory : ILoggerFactory, ILogger
    {
        public List<(LogLevel Level, string Text)> Messages { get; } = [];
        public ILogger CreateLogger(string categoryName) => this;
        public void AddProvider(ILoggerProvider provider) { }
        public void Dispose() { }
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Messages) Messages.Add((logLevel, formatter(state, exception)));
        }
    }
}

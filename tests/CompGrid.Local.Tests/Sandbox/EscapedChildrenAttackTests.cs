using System.Globalization;
using CompGrid.Local.Processes;
using CompGrid.Testing;

namespace CompGrid.Local.Tests.Sandbox;

/// <summary>Children started with <c>setsid -f</c> (a new session, out of the job's process group) that ignore SIGTERM.</summary>
[Trait("Category", "Local")]
[Collection(SandboxCollection.Name)]
public sealed class EscapedChildrenAttackTests(SandboxFixture fixture)
{
    // The escaped child ignores SIGTERM and loops; only a kill of the whole cgroup (or uid) reaches it.
    private const string Escape = "setsid -f sh -c 'trap \"\" TERM; echo $$ > escaped.pid; while :; do sleep 0.05; done'; while :; do sleep 0.05; done";

    private static async Task<int> EscapedPidAsync(string work, string id)
    {
        int pid = int.Parse(await Jobs.WaitForFileAsync(Path.Combine(work, "escaped.pid")), CultureInfo.InvariantCulture);
        var stat = ProcFs.Read(pid);
        Assert.NotNull(stat);
        Assert.Equal(pid, stat!.Value.Session); // it really left the job's session
        _ = id;
        return pid;
    }

    [SandboxFact]
    public async Task SetsidChildren_DieAfterCancel()
    {
        var id = await Jobs.SubmitAsync(fixture.Backend, Escape);
        int escaped = await EscapedPidAsync(Jobs.WorkDir(fixture.StateDirectory, id), id);
        await fixture.Backend.CancelAsync(id);
        Assert.Equal(JobState.Cancelled, (await Jobs.WaitTerminalAsync(fixture.Backend, id)).State);
        Assert.True(await Jobs.WaitGoneAsync(escaped), $"escaped child {escaped} survived the cancel");
    }

    [SandboxFact]
    public async Task SetsidChildren_DieAfterWalltime()
    {
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        using var backend = fixture.Create(new SandboxOptions(StateDirectory: Path.Combine(fixture.Root, "walltime")), clock);
        var id = await Jobs.SubmitAsync(backend, Escape, walltime: TimeSpan.FromMinutes(10));
        int escaped = await EscapedPidAsync(Path.Combine(fixture.Root, "walltime", "jobs", id, "work"), id);

        clock.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));   // walltime: SIGTERM to all
        clock.Advance(TimeSpan.FromSeconds(1));                               // grace over: the cgroup is killed
        Assert.Equal(JobState.TimedOut, (await Jobs.WaitTerminalAsync(backend, id)).State);
        Assert.True(await Jobs.WaitGoneAsync(escaped), $"escaped child {escaped} survived the walltime");
    }

    [SandboxFact]
    public async Task RestartedBackend_StillKillsTheJobsOfThePreviousRun()
    {
        string state = Path.Combine(fixture.Root, "restart");
        var first = fixture.Create(new SandboxOptions(StateDirectory: state));
        var id = await Jobs.SubmitAsync(first, Escape);
        int escaped = await EscapedPidAsync(Path.Combine(state, "jobs", id, "work"), id);
        first.Dispose(); // the portal goes away; its job does not

        using var second = fixture.Create(new SandboxOptions(StateDirectory: state));
        Assert.Equal(JobState.Running, (await second.GetStatusAsync(id))!.State);
        await second.CancelAsync(id);
        Assert.Equal(JobState.Cancelled, (await Jobs.WaitTerminalAsync(second, id)).State);
        Assert.True(await Jobs.WaitGoneAsync(escaped), $"escaped child {escaped} survived");
    }
}

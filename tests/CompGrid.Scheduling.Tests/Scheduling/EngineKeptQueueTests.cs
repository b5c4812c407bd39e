using CompGrid.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CompGrid.Scheduling.Tests.Scheduling;

/// <summary>
/// The engine on the kept queue: a cycle with nothing changed evaluates no job whatever the queue's length, and after
/// every step of a scripted sequence of submits, ends, cancels, clock jumps and node failures the reference path (the
/// whole queue gathered from the cache and decided) finds nothing to start and no reason to rewrite.
/// </summary>
[Trait("Category", "Scheduling")]
public sealed class EngineKeptQueueTests
{
    // An executable runs on the in-memory backend until it is finished by hand or its walltime ends.
    private static JobSpec Job(int cpus, TimeSpan walltime, int nodes = 1, string owner = "alice") => new()
    {
        Name = "k", Owner = owner, Payload = JobPayload.Exec("work"), Walltime = walltime, Resources = new() { Cpus = cpus, Nodes = nodes },
    };

    [Theory]
    [InlineData(10, "fifo")]
    [InlineData(400, "fifo")]
    [InlineData(400, "multifactor")]
    public async Task UnchangedCycle_EvaluatesNoJob_WhateverTheQueueLength(int queued, string ordering)
    {
        var time = new ManualTimeProvider();
        var backend = new InMemoryBackend("mem", time, nodes: 2, cpusPerNode: 4, memoryMiBPerNode: 4096);
        await using var engine = CompGridEngine.Create(b => b.AddBackend(backend).UseJobStore(new InMemoryJobStore()).UseTimeProvider(time)
            .Configure(o => { o.QueueOrdering = ordering; o.PollInterval = TimeSpan.FromHours(1); }));
        await engine.StartAsync();
        // Distinct submit times: jobs submitted in one millisecond would be ordered by their random ids.
        await engine.SubmitAsync(Job(4, TimeSpan.FromHours(2)));
        time.Advance(TimeSpan.FromSeconds(1));
        await engine.SubmitAsync(Job(4, TimeSpan.FromHours(3)));
        var last = default(JobHandle);
        for (int i = 0; i < queued; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            last = await engine.SubmitAsync(Job(1 + (i % 4), TimeSpan.FromMinutes(30 + i)));
        }
        for (int i = 0; i < 4; i++) await engine.RunCycleAsync();   // dispatch, see them start, decide the rest

        var before = engine.SchedulingWork;
        for (int i = 0; i < 5; i++) await engine.RunCycleAsync();
        Assert.Equal(before, engine.SchedulingWork);
        JobRecord waiting = await last!.GetAsync();
        Assert.Equal(JobState.Queued, waiting.State);
        Assert.StartsWith("Priority", waiting.Reason, StringComparison.Ordinal);

        // One arrival: one pass over the queue, then quiet again.
        time.Advance(TimeSpan.FromSeconds(1));
        await engine.SubmitAsync(Job(1, TimeSpan.FromMinutes(5)));
        await engine.RunCycleAsync();
        var after = engine.SchedulingWork;
        Assert.Equal(before.Passes + 1, after.Passes);
        await engine.RunCycleAsync();
        Assert.Equal(after, engine.SchedulingWork);

        // Past a running job's expected end the estimates move with the clock: the queue is decided again.
        time.Advance(TimeSpan.FromHours(2));
        await engine.RunCycleAsync();
        Assert.True(engine.SchedulingWork.Passes > after.Passes);
    }

    [Theory]
    [InlineData(1, "fifo")]
    [InlineData(2, "fifo")]
    [InlineData(3, "multifactor")]
    [InlineData(4, "priority")]
    [InlineData(5, "fifo")]
    public async Task ScriptedSequence_FullPassChangesNothing(int seed, string ordering)
    {
        // After every step the kept path is run to its fixed point; then one reference full pass (every pending job
        // gathered from the cache and decided) must start nothing and write no other reason. One engine, so its
        // background loop (woken by submits and backend events) cannot make two runs interleave differently.
        var time = new ManualTimeProvider();
        var side = await Side.StartAsync(time, ordering);
        await using (side.Engine)
        {
            var rng = new Random(seed);
            for (int step = 0; step < 80; step++)
            {
                int roll = rng.Next(100);
                if (roll < 50)
                {
                    time.Advance(TimeSpan.FromSeconds(1));   // distinct submit times
                    var spec = Job(rng.Next(1, 5), TimeSpan.FromMinutes(rng.Next(5, 180)), nodes: rng.Next(8) == 0 ? 2 : 1, owner: rng.Next(2) == 0 ? "alice" : "bob");
                    side.Jobs.Add(await side.Engine.SubmitAsync(spec));
                }
                else if (roll < 70) await side.FinishRunningAsync(rng.Next(1000));
                else if (roll < 80) await side.CancelQueuedAsync(rng.Next(1000));
                else if (roll < 90) time.Advance(TimeSpan.FromMinutes(rng.Next(1, 90)));
                else side.Backend.SetNodeState("mem-n1", rng.Next(2) == 0 ? NodeState.Down : NodeState.Up);
                await SettleAsync(side);

                var kept = new List<JobRecord>();
                foreach (JobHandle h in side.Jobs) kept.Add(await h.GetAsync());
                side.Engine.FullSchedulingPass = true;
                await side.Engine.RunCycleAsync();
                side.Engine.FullSchedulingPass = false;
                for (int i = 0; i < kept.Count; i++)
                {
                    JobRecord a = kept[i], b = await side.Jobs[i].GetAsync();
                    Assert.True(a.Version == b.Version,
                        $"step {step}, job {i}: kept {a.State} [{string.Join(",", a.Nodes)}] '{a.Reason}' vs full {b.State} [{string.Join(",", b.Nodes)}] '{b.Reason}'");
                }
            }
            Assert.Contains(side.Jobs, h => h.GetAsync().Result.State == JobState.Completed);
        }
    }

    // Cycles until the engine changes no job any more.
    private static async Task SettleAsync(Side side)
    {
        long last = -1;
        for (int round = 0; round < 12; round++)
        {
            await side.Engine.RunCycleAsync();
            long versions = await side.VersionsAsync();
            if (versions == last) return;
            last = versions;
        }
        Assert.Fail("the engine did not settle in 12 cycles");
    }

    private sealed record Side(CompGridEngine Engine, InMemoryBackend Backend, List<JobHandle> Jobs)
    {
        public static async Task<Side> StartAsync(ManualTimeProvider time, string ordering)
        {
            var backend = new InMemoryBackend("mem", time, nodes: 3, cpusPerNode: 4, memoryMiBPerNode: 4096);
            var engine = CompGridEngine.Create(b => b.AddBackend(backend).UseJobStore(new InMemoryJobStore()).UseTimeProvider(time)
                .AddResourceLimits(l => l.Users["alice"] = new() { MaxRunningJobs = 2 })
                .Configure(o => { o.QueueOrdering = ordering; o.PollInterval = TimeSpan.FromHours(1); }));
            await engine.StartAsync();
            return new Side(engine, backend, []);
        }

        public async Task<long> VersionsAsync()
        {
            long sum = 0;
            foreach (JobHandle h in Jobs) sum += (await h.GetAsync()).Version;
            return sum;
        }

        // The k-th running job (in submission order, modulo their count) ends on the backend.
        public async Task FinishRunningAsync(int k)
        {
            var running = new List<JobRecord>();
            foreach (JobHandle h in Jobs) if (await h.GetAsync() is { State: JobState.Running } r) running.Add(r);
            if (running.Count == 0) return;
            Backend.Finish(running[k % running.Count].BackendJobId!);
        }

        public async Task CancelQueuedAsync(int k)
        {
            var queued = new List<JobRecord>();
            foreach (JobHandle h in Jobs) if (await h.GetAsync() is { State: JobState.Queued } q) queued.Add(q);
            if (queued.Count == 0) return;
            await Engine.CancelAsync(queued[k % queued.Count].Id);
        }
    }
}

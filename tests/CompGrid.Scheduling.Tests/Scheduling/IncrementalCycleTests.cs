using CompGrid.Backfill;
using CompGrid.Placement;

namespace CompGrid.Scheduling.Tests.Scheduling;

/// <summary>
/// The incremental path of <see cref="SchedulingCycle"/> (the queue kept between cycles, which the simulator drives)
/// starts exactly the jobs the engine's full pass (<see cref="SchedulingCycle.Run"/>) starts, on the same nodes, cycle
/// after cycle — through arrivals alone (the continuation from the last cycle's state), releases, and strict queues.
/// </summary>
[Trait("Category", "Scheduling")]
public sealed class IncrementalCycleTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [SeedProperty(MaxTest = 300)]
    public bool RunQueued_RandomCycles_StartsWhatTheFullPassStarts(int seed)
    {
        var rng = new Random(seed);
        bool easy = rng.Next(4) != 0;
        IPlacementPolicy policy = new FirstFitPlacementPolicy();
        var backfill = new BackfillOptions { Enabled = easy, EstimateDepth = 0 };
        var full = new SchedulingCycle(new FifoQueueOrderingPolicy(), policy, s => s.Walltime!.Value, s => s.Resources.MemoryMiB, backfill);
        var incremental = new SchedulingCycle(new FifoQueueOrderingPolicy(), policy, s => s.Walltime!.Value, s => s.Resources.MemoryMiB, backfill);
        int nodes = rng.Next(2, 24);
        ClusterSnapshot a = new(), b = new();
        foreach (ClusterSnapshot c in new[] { a, b })
            for (int i = 0; i < nodes; i++) c.AddNode("n" + i, new NodeResources(8, 32_768, 0), new NodeResources(8, 32_768, 0));
        var pending = new List<JobRecord>();
        var runningA = new List<RunningJob>();
        var runningB = new List<RunningJob>();
        DateTimeOffset now = T0;
        int id = 0;
        for (int step = 0; step < 12; step++)
        {
            now = now.AddSeconds(rng.Next(0, 120));
            // Sometimes a running job ends (a full cycle), sometimes only jobs arrive (the continuation).
            if (runningA.Count > 0 && rng.Next(3) == 0)
            {
                int k = rng.Next(runningA.Count);
                a.ReleaseGang(runningA[k].Nodes, runningA[k].Request);
                RunningJob rb = runningB.Single(r => r.Job.Id == runningA[k].Job.Id);
                b.ReleaseGang(rb.Nodes, rb.Request);
                runningA.RemoveAt(k);
                runningB.Remove(rb);
            }
            for (int k = rng.Next(0, 6); k > 0; k--)
            {
                var job = new JobRecord
                {
                    Id = "j" + (id++).ToString("D4", System.Globalization.CultureInfo.InvariantCulture), State = JobState.Queued, SubmittedAt = now,
                    Spec = new JobSpec
                    {
                        Owner = "u", Walltime = TimeSpan.FromMinutes(rng.Next(1, 600)),
                        Resources = new ResourceRequest { Cpus = rng.Next(1, 9), MemoryMiB = rng.Next(1, 16) * 1024, Nodes = rng.Next(4) == 0 ? rng.Next(1, nodes + 2) : 1 },
                    },
                };
                pending.Add(job);
                incremental.Enqueue(job, b);
            }
            IReadOnlyList<JobDecision> decisions = full.Run(a, runningA, pending, now);
            var expected = decisions.Where(d => d.Start).Select(d => (d.Job.Id, Nodes: string.Join(',', d.Nodes))).ToList();
            var actual = incremental.RunQueued(b, runningB, now).Select(s => (s.Job.Id, Nodes: string.Join(',', s.Nodes))).ToList();
            if (!expected.SequenceEqual(actual))
                throw new InvalidOperationException($"seed {seed}, step {step}, easy {easy}: full pass started [{string.Join("; ", expected)}], incremental [{string.Join("; ", actual)}]");
            foreach (JobDecision d in decisions.Where(d => d.Start))
            {
                b.TryCreateRequest(d.Job.Spec.Resources, d.Job.Spec.Constraints, d.Job.Spec.Resources.MemoryMiB, out PlacementRequest req, out _);
                var end = now + d.Job.Spec.Walltime!.Value;
                runningA.Add(new RunningJob(d.Job, [.. d.Nodes], req, end));
                runningB.Add(new RunningJob(d.Job, [.. d.Nodes], req, end));
                pending.Remove(d.Job);
            }
            if (incremental.QueuedCount != pending.Count)
                throw new InvalidOperationException($"seed {seed}, step {step}: {incremental.QueuedCount} queued, {pending.Count} expected");
        }
        return true;
    }

    // Seed 735427481: a cycle backfilled j0022 and j0023 onto nodes free at the time; the next cycle, with only an
    // arrival, continued with the old reservation, which held node 6, while the full pass made the reservation again
    // (nodes 9, 13 and 14 were busy now, so it took them) and backfilled j0024 on node 6. A continuation now follows
    // only a cycle that started nothing behind the reservation.
    // Seed 1562867244 (a CI run): a cycle backfilled j0006 behind j0004's reservation; the next step had no arrival and no
    // end, so the incremental path answered "nothing changed", while the full pass reserved again (j0006 had made another
    // node busy, and busy nodes are preferred) and so could backfill j0009. "Nothing changed" no longer follows a backfill.
    [Theory]
    [InlineData(735427481)]
    [InlineData(1562867244)]
    public void RunQueued_AfterBackfill_MakesTheReservationAgain(int seed) => Assert.True(RunQueued_RandomCycles_StartsWhatTheFullPassStarts(seed));

    [Fact]
    public void RunQueued_NothingChanged_StartsNothingAndKeepsTheQueue()
    {
        var cluster = new ClusterSnapshot();
        cluster.AddNode("n0", new NodeResources(4, 4096, 0), new NodeResources(4, 4096, 0));
        var cycle = new SchedulingCycle(new FifoQueueOrderingPolicy(), new FirstFitPlacementPolicy(), _ => TimeSpan.FromHours(1), s => 1024);
        JobRecord Job(string id, int cpus) => new()
        {
            Id = id, State = JobState.Queued, SubmittedAt = T0, Spec = new JobSpec { Owner = "u", Resources = new ResourceRequest { Cpus = cpus } },
        };
        cycle.Enqueue(Job("a", 3), cluster);
        cycle.Enqueue(Job("b", 2), cluster);
        Assert.Equal(["a"], cycle.RunQueued(cluster, [], T0).Select(s => s.Job.Id));
        Assert.Empty(cycle.RunQueued(cluster, [], T0.AddHours(1)));
        Assert.Equal(1, cycle.QueuedCount);
        Assert.True(cycle.Dequeue("b"));
        Assert.Equal(0, cycle.QueuedCount);
    }
}

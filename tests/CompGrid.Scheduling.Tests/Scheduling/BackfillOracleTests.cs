using CompGrid.Backfill;
using CompGrid.Placement;
using CompGrid.Scheduling.Tests.Placement;

namespace CompGrid.Scheduling.Tests.Scheduling;

/// <summary>
/// <see cref="EasyBackfillScheduler.Run"/> (the engine's decision pass) against a plain replay of its rules on clones of
/// the cluster: jobs tried in order, the shadow time found by releasing the ends one time at a time, backfill behind the
/// reservation, and start estimates from a strict-order replay. The scheduler takes shortcuts (per-node fit times for
/// the shadow, a free-node count that decides the queue's tail without a search, estimates that continue from the
/// reservation's replay); every decision must come out the same.
/// </summary>
[Trait("Category", "Scheduling")]
public sealed class BackfillOracleTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private sealed record Event(int[] Nodes, PlacementRequest Request, long End);

    [SeedProperty(MaxTest = 300)]
    public bool Run_RandomClusters_DecisionsEqualAPlainReplay(int seed)
    {
        var rng = new Random(seed);
        ClusterSnapshot cluster = RandomCluster.Create(rng, rng.Next(2, 30));
        var running = new List<RunningAllocation>();
        for (int k = cluster.Count * 3; k > 0; k--)
        {
            PlacementRequest req = RandomCluster.Request(rng, cluster);
            int[] chosen = new int[req.Nodes];
            if (!cluster.TryFindFirstFit(req, chosen)) continue;
            cluster.AllocateGang(chosen, req);
            // Half the ends on a 30-minute grid, so that several jobs end together; a few already overdue.
            DateTimeOffset end = rng.Next(2) == 0 ? T0.AddMinutes(rng.Next(-5, 600)) : T0.AddMinutes(rng.Next(-1, 20) * 30);
            running.Add(new RunningAllocation(chosen, req, end));
        }
        var pending = new BackfillCandidate[rng.Next(1, 60)];
        for (int k = 0; k < pending.Length; k++)
        {
            PlacementRequest req = RandomCluster.Request(rng, cluster);
            if (rng.Next(8) == 0) req = req with { Nodes = rng.Next(1, cluster.Count + 2) };
            TimeSpan walltime = rng.Next(2) == 0 ? TimeSpan.FromMinutes(rng.Next(1, 900)) : TimeSpan.FromMinutes(rng.Next(1, 20) * 30);
            pending[k] = new BackfillCandidate(req, walltime);
        }
        IPlacementPolicy policy = rng.Next(3) switch { 0 => new FirstFitPlacementPolicy(), 1 => new BestFitPlacementPolicy(), _ => new SpreadPlacementPolicy() };
        var options = new BackfillOptions { EstimateDepth = rng.Next(4) == 0 ? 0 : rng.Next(1, 40), Enabled = rng.Next(5) != 0 };
        ClusterSnapshot before = cluster.Clone();

        BackfillResult r = new EasyBackfillScheduler(policy, options).Run(cluster, running.ToArray(), pending, T0);

        string? problem = CheckPhases(before, running, pending, policy, options, r) ?? CheckEstimates(cluster, running, pending, policy, options, r);
        if (problem is not null) throw new InvalidOperationException($"seed {seed} ({policy.Name}, backfill {options.Enabled}, depth {options.EstimateDepth}): {problem}");
        return true;
    }

    // Phase 1 (start in order, reserve for the first job that does not fit) and phase 2 (backfill behind it).
    private static string? CheckPhases(ClusterSnapshot before, List<RunningAllocation> running, BackfillCandidate[] pending, IPlacementPolicy policy,
        BackfillOptions options, BackfillResult r)
    {
        ClusterSnapshot live = before.Clone();
        var startedNow = new List<Event>();
        int i = 0, holder = -1;
        long shadow = long.MaxValue;
        for (; i < pending.Length; i++)
        {
            BackfillCandidate c = pending[i];
            int[] chosen = new int[Math.Max(1, c.Request.Nodes)];
            if (policy.TryPlace(live, c.Request, chosen))
            {
                if (!r.Started(i) || !r.NodesOf(i).SequenceEqual(chosen)) return $"job {i} should start on [{string.Join(',', chosen)}] in order";
                live.AllocateGang(chosen, c.Request);
                startedNow.Add(new Event(chosen, c.Request, (T0 + c.Walltime).UtcTicks));
                continue;
            }
            if (r.Started(i)) return $"job {i} started, but it does not fit in order";
            long? t = PlainShadow(live, running, startedNow, c.Request, policy);
            if (t is null)
            {
                if (r.Reason(i) != PendingReason.Resources || r.ReservationHolder == i) return $"job {i} can never fit, but got {r.Reason(i)}";
                continue;
            }
            holder = i;
            shadow = t.Value;
            break;
        }
        if (r.ReservationHolder != holder) return $"holder {r.ReservationHolder}, expected {holder}";
        if (holder < 0) return null;
        if (r.ShadowTime?.UtcTicks != shadow) return $"shadow {r.ShadowTime}, expected {new DateTimeOffset(shadow, TimeSpan.Zero)}";
        if (r.Reason(holder) != PendingReason.Resources) return $"holder's reason {r.Reason(holder)}";

        // The reserved nodes (the scheduler's choice among equals) must fit the holder once everything up to the shadow ended.
        ClusterSnapshot atShadow = live.Clone();
        foreach (Event e in Events(running, startedNow)) if (e.End <= shadow) atShadow.ReleaseGang(e.Nodes, e.Request);
        PlacementRequest top = pending[holder].Request;
        var reserved = r.ReservedNodes.ToHashSet();
        if (reserved.Count != Math.Max(1, top.Nodes) || !reserved.All(n => atShadow.Fits(n, top))) return $"reserved nodes [{string.Join(',', reserved)}] do not hold the job at the shadow time";

        ClusterSnapshot masked = live.Clone();
        foreach (int n in reserved) masked.SetSchedulable(n, false);
        for (int k = holder + 1; k < pending.Length; k++)
        {
            BackfillCandidate c = pending[k];
            if (!options.Enabled)
            {
                if (r.Started(k) || r.Reason(k) != PendingReason.Priority) return $"backfill off: job {k} should wait for priority";
                continue;
            }
            int[] chosen = new int[Math.Max(1, c.Request.Nodes)];
            bool shortJob = (T0 + c.Walltime).UtcTicks <= shadow;
            if (policy.TryPlace(shortJob ? live : masked, c.Request, chosen))
            {
                if (!r.Started(k) || !r.NodesOf(k).SequenceEqual(chosen)) return $"job {k} should be backfilled on [{string.Join(',', chosen)}]";
                live.AllocateGang(chosen, c.Request);
                foreach (int n in chosen) if (!reserved.Contains(n)) masked.Allocate(n, c.Request);
                continue;
            }
            PendingReason want = !shortJob && policy.TryPlace(live, c.Request, new int[chosen.Length]) ? PendingReason.Reservation : PendingReason.Priority;
            if (r.Started(k) || r.Reason(k) != want) return $"job {k}: expected to wait with {want}, got started={r.Started(k)} reason={r.Reason(k)}";
        }
        return null;
    }

    // Release the ends one time at a time until `need` nodes fit and the policy places the job there.
    private static long? PlainShadow(ClusterSnapshot live, List<RunningAllocation> running, List<Event> startedNow, PlacementRequest request, IPlacementPolicy policy)
    {
        ClusterSnapshot copy = live.Clone();
        List<Event> events = Events(running, startedNow);
        int[] chosen = new int[Math.Max(1, request.Nodes)];
        if (policy.TryPlace(copy, request, chosen)) return T0.UtcTicks;
        foreach (long t in events.Select(e => e.End).Distinct().Order())
        {
            foreach (Event e in events.Where(e => e.End == t)) copy.ReleaseGang(e.Nodes, e.Request);
            if (policy.TryPlace(copy, request, chosen)) return t;
        }
        return null;
    }

    private static List<Event> Events(List<RunningAllocation> running, List<Event> started) =>
        [.. running.Select(a => new Event(a.Nodes, a.Request, Math.Max(T0.UtcTicks, a.ExpectedEnd.UtcTicks))), .. started];

    // Estimates: the waiting jobs in order, each placed in strict order on a replay of every end (running jobs, the
    // cycle's starts, and the waiting jobs placed before it); the holder's is the shadow time.
    private static string? CheckEstimates(ClusterSnapshot after, List<RunningAllocation> running, BackfillCandidate[] pending, IPlacementPolicy policy,
        BackfillOptions options, BackfillResult r)
    {
        var waiting = new List<int>();
        for (int k = 0; k < pending.Length && waiting.Count < options.EstimateDepth; k++)
            if (!r.Started(k) && (r.Reason(k) is PendingReason.Priority or PendingReason.Reservation || (r.Reason(k) == PendingReason.Resources && k == r.ReservationHolder)))
                waiting.Add(k);
        var expected = new Dictionary<int, long?>();
        if (r.ReservationHolder >= 0) expected[r.ReservationHolder] = r.ShadowTime!.Value.UtcTicks;
        if (r.StartedCount < pending.Length && waiting.Count > 0)
        {
            ClusterSnapshot sim = after.Clone();
            var events = Events(running, [.. Enumerable.Range(0, pending.Length).Where(r.Started)
                .Select(k => new Event(r.NodesOf(k).ToArray(), pending[k].Request, (T0 + pending[k].Walltime).UtcTicks))]);
            long t = T0.UtcTicks;
            foreach (int w in waiting)
            {
                BackfillCandidate c = pending[w];
                int[] chosen = new int[Math.Max(1, c.Request.Nodes)];
                while (true)
                {
                    if (policy.TryPlace(sim, c.Request, chosen))
                    {
                        sim.AllocateGang(chosen, c.Request);
                        events.Add(new Event((int[])chosen.Clone(), c.Request, t + c.Walltime.Ticks));
                        if (w == r.ReservationHolder && t != expected[w]) return $"the estimate replay placed the holder at {t}, not at the shadow time";
                        expected.TryAdd(w, t);
                        break;
                    }
                    if (events.Count == 0) { expected.TryAdd(w, null); break; } // everything ended and it still does not fit
                    t = events.Min(e => e.End);
                    foreach (Event e in events.Where(e => e.End <= t).ToList()) { sim.ReleaseGang(e.Nodes, e.Request); events.Remove(e); }
                }
            }
        }
        for (int k = 0; k < pending.Length; k++)
        {
            if (r.Started(k)) continue;
            long? want = expected.TryGetValue(k, out long? v) ? v : null;
            if (r.EstimatedStart(k)?.UtcTicks != want) return $"job {k}: estimate {r.EstimatedStart(k)?.UtcTicks}, expected {want}";
        }
        return null;
    }
}

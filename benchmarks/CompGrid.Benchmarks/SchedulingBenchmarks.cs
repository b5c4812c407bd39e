using BenchmarkDotNet.Attributes;
using CompGrid.Backfill;
using CompGrid.Ordering;
using CompGrid.Placement;

namespace CompGrid.Benchmarks;

/// <summary>
/// One EASY backfill cycle: 5,000 × 64-core nodes about 95% busy with ~30k running jobs, 50,000 pending, the top job
/// asking for 1,024 whole nodes (reference/performance.md P6).
/// </summary>
[MemoryDiagnoser]
public class BackfillBenchmarks
{
    public const int NodeCount = 5_000, PendingCount = 50_000, NaivePendingCount = 1_000;
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private ClusterSnapshot _pristine = null!, _cluster = null!;
    private RunningAllocation[] _running = [];
    private BackfillCandidate[] _pending = [];
    private EasyBackfillScheduler _scheduler = null!;
    private List<NaiveBackfill.Node> _naiveNodes = [];
    public int LastStarted { get; private set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(5);
        _pristine = new ClusterSnapshot();
        var cap = new NodeResources(64, 256 * 1024, 0);
        for (int i = 0; i < NodeCount; i++) _pristine.AddNode("node" + i.ToString("D5", System.Globalization.CultureInfo.InvariantCulture), cap, cap);
        int[] sizes = [1, 2, 4, 8, 16, 32];
        var running = new List<RunningAllocation>();
        long target = (long)(NodeCount * 64 * 0.95), used = 0;
        int[] c = new int[1];
        var ff = new FirstFitPlacementPolicy();
        while (used < target)
        {
            int cpus = sizes[rng.Next(sizes.Length)];
            var r = new PlacementRequest(cpus, cpus * 2048L, 0, 1);
            // spread the running jobs over the cluster: start the search at a random node
            int n = _pristine.FindFirst(r, rng.Next(NodeCount));
            if (n < 0) n = _pristine.FindFirst(r);
            if (n < 0) break;
            _pristine.Allocate(n, r);
            used += cpus;
            running.Add(new RunningAllocation([n], r, Now.AddSeconds(rng.Next(60, 86_400))));
        }
        _running = [.. running];
        _pending = new BackfillCandidate[PendingCount];
        _pending[0] = new BackfillCandidate(new PlacementRequest(64, 1024, 0, 1024), TimeSpan.FromHours(12));
        for (int i = 1; i < PendingCount; i++)
        {
            int cpus = sizes[rng.Next(sizes.Length)];
            _pending[i] = new BackfillCandidate(new PlacementRequest(cpus, cpus * (long)rng.Next(1, 5) * 1024, 0, rng.Next(20) == 0 ? rng.Next(2, 9) : 1),
                TimeSpan.FromSeconds(rng.Next(60, 2 * 86_400)));
        }
        _scheduler = new EasyBackfillScheduler(new FirstFitPlacementPolicy(), new BackfillOptions { EstimateDepth = int.Parse(Environment.GetEnvironmentVariable("CG_EST") ?? "100", System.Globalization.CultureInfo.InvariantCulture) });
        // An engine runs this cycle every few seconds for as long as it is up, so the measured cycle is the steady
        // state: the `--targets` job runs only nine invocations, too few for the JIT's tiering to reach its final code.
        for (int k = 0; k < 40; k++) { SetupFast(); EasyBackfillCycle(); }
    }

    [IterationSetup(Target = nameof(EasyBackfillCycle))]
    public void SetupFast() { _cluster = _pristine.Clone(); _cluster.FindFirst(new PlacementRequest(1, 1, 0, 1)); }

    [IterationSetup(Target = nameof(NaiveEasyBackfillCycle))]
    public void SetupNaive() => _naiveNodes = NaiveBackfill.Nodes(_pristine);

    [Benchmark]
    public int EasyBackfillCycle()
    {
        BackfillResult r = _scheduler.Run(_cluster, _running, _pending, Now);
        LastStarted = r.StartedCount;
        return r.StartedCount;
    }

    /// <summary>The same cycle written with objects and LINQ, over the first 1,000 pending jobs only.</summary>
    [Benchmark]
    public int NaiveEasyBackfillCycle() => NaiveBackfill.Run(_naiveNodes, _running, _pending[..NaivePendingCount], Now);
}

/// <summary>A portal-style EASY backfill: node objects, LINQ queries, a sorted copy of the running jobs per reservation.</summary>
internal static class NaiveBackfill
{
    public sealed class Node
    {
        public int Index { get; init; }
        public Dictionary<string, long> Free { get; init; } = [];
    }

    public static List<Node> Nodes(ClusterSnapshot s) => Enumerable.Range(0, s.Count).Select(i => new Node
    {
        Index = i, Free = new Dictionary<string, long> { ["cpu"] = s.FreeCpus[i], ["mem"] = s.FreeMemoryMiB[i] },
    }).ToList();

    private static bool Fits(Node n, PlacementRequest r) => n.Free["cpu"] >= r.Cpus && n.Free["mem"] >= r.MemoryMiB;

    public static int Run(List<Node> nodes, RunningAllocation[] running, BackfillCandidate[] pending, DateTimeOffset now)
    {
        int started = 0;
        DateTimeOffset? shadow = null;
        HashSet<int> reserved = [];
        var startedJobs = new List<(int[] Nodes, PlacementRequest Req, DateTimeOffset End)>();
        foreach (BackfillCandidate c in pending)
        {
            DateTimeOffset end = now + c.Walltime;
            var chosen = nodes.Where(n => Fits(n, c.Request) && (shadow is null || end <= shadow || !reserved.Contains(n.Index))).Take(c.Request.Nodes).ToList();
            if (chosen.Count == c.Request.Nodes)
            {
                foreach (Node n in chosen) { n.Free["cpu"] -= c.Request.Cpus; n.Free["mem"] -= c.Request.MemoryMiB; }
                startedJobs.Add((chosen.Select(n => n.Index).ToArray(), c.Request, end));
                started++;
                continue;
            }
            if (shadow is not null) continue;
            // reservation: replay the ends in time order on a copy until the job fits
            var copy = nodes.Select(n => new Node { Index = n.Index, Free = new Dictionary<string, long>(n.Free) }).ToDictionary(n => n.Index);
            foreach (var ev in running.Select(r => (r.Nodes, Req: r.Request, End: r.ExpectedEnd)).Concat(startedJobs).OrderBy(e => e.End))
            {
                foreach (int i in ev.Nodes) { copy[i].Free["cpu"] += ev.Req.Cpus; copy[i].Free["mem"] += ev.Req.MemoryMiB; }
                var fit = copy.Values.Where(n => Fits(n, c.Request)).OrderBy(n => n.Index).Take(c.Request.Nodes).ToList();
                if (fit.Count == c.Request.Nodes) { shadow = ev.End; reserved = fit.Select(n => n.Index).ToHashSet(); break; }
            }
        }
        return started;
    }
}

/// <summary>Fair-share ordering of 1,000,000 queued jobs of 1,000 accounts (Zipf): recompute the factors and reorder (P8).</summary>
[MemoryDiagnoser]
public class FairShareBenchmarks
{
    public const int JobCount = 1_000_000, AccountCount = 1_000, NaiveJobCount = JobCount; // the naive baseline orders the same queue
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private JobRecord[] _pristine = [];
    private readonly List<JobRecord> _queue = [];
    private MultifactorPriorityPolicy _policy = null!;
    private FairShareLedger _ledger = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(8);
        _ledger = new FairShareLedger();
        var specs = new JobSpec[AccountCount * 5 * 4];
        for (int a = 0; a < AccountCount; a++)
            for (int u = 0; u < 5; u++)
            {
                string account = "acct" + a, user = account + "-u" + u;
                _ledger.AddUsage(account, user, rng.NextDouble() * 1e6 / (a + 1), Now.AddDays(-rng.Next(30)));
                for (int s = 0; s < 4; s++)
                    specs[(a * 5 + u) * 4 + s] = new JobSpec { Owner = user, Account = account, Resources = new ResourceRequest { Cpus = 1 << (2 * s) } };
            }
        double h = 0;
        for (int k = 1; k <= AccountCount; k++) h += 1.0 / k;
        _pristine = new JobRecord[JobCount];
        for (int i = 0; i < JobCount; i++)
        {
            double x = rng.NextDouble() * h;
            int a = 0;
            while (a < AccountCount - 1 && (x -= 1.0 / (a + 1)) > 0) a++;
            JobSpec spec = specs[(a * 5 + rng.Next(5)) * 4 + rng.Next(4)];
            _pristine[i] = new JobRecord { Id = "cg-" + i.ToString("D7", System.Globalization.CultureInfo.InvariantCulture), Spec = spec, State = JobState.Queued, SubmittedAt = Now.AddSeconds(-rng.Next(604_800)) };
        }
        _policy = new MultifactorPriorityPolicy(new MultifactorPriorityOptions(), _ledger);
        _queue.Clear();
        _queue.AddRange(_pristine);
        _policy.Order(_queue, new QueueOrderingContext { Now = Now }); // warm: buffers and associations
    }

    /// <summary>Orders the whole queue once with a fresh policy over the same ledger and returns the policy (its buffers live).</summary>
    internal MultifactorPriorityPolicy OrderWithNewPolicy()
    {
        var policy = new MultifactorPriorityPolicy(new MultifactorPriorityOptions(), _ledger);
        _queue.Clear();
        _queue.AddRange(_pristine);
        policy.Order(_queue, new QueueOrderingContext { Now = Now });
        return policy;
    }

    [IterationSetup(Target = nameof(OrderMillion))]
    public void SetupFast()
    {
        _queue.Clear();
        _queue.AddRange(_pristine);
        _ledger.AddUsage("acct0", "acct0-u0", 1, Now); // new usage: the factors are recomputed inside the measurement
    }

    [IterationSetup(Target = nameof(NaiveOrder))]
    public void SetupNaive()
    {
        _queue.Clear();
        _queue.AddRange(_pristine.AsSpan(0, NaiveJobCount));
    }

    [Benchmark]
    public int OrderMillion()
    {
        _policy.Order(_queue, new QueueOrderingContext { Now = Now });
        return _queue.Count;
    }

    /// <summary>The portal way: compute the factors into a dictionary, then LINQ OrderByDescending/ThenBy over the same 1,000,000 jobs.</summary>
    [Benchmark]
    public int NaiveOrder()
    {
        var usage = _ledger.GetUsage(Now);
        double total = usage.Values.Sum();
        var accountUsage = usage.GroupBy(k => k.Key.Account).ToDictionary(g => g.Key, g => g.Sum(x => x.Value) / total);
        int accounts = accountUsage.Count;
        var factor = accountUsage.ToDictionary(k => k.Key, k => Math.Pow(2, -k.Value * accounts));
        var sorted = _queue
            .OrderByDescending(j => 10_000 * factor.GetValueOrDefault(j.Spec.Account!, 1) + 1_000 * Math.Min(1, (Now - j.SubmittedAt).TotalDays / 7) - j.Spec.Nice)
            .ThenBy(j => j.SubmittedAt).ThenBy(j => j.Id, StringComparer.Ordinal).ToList();
        return sorted.Count;
    }
}

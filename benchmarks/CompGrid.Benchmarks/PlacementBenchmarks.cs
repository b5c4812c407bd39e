using BenchmarkDotNet.Attributes;
using CompGrid.Placement;

namespace CompGrid.Benchmarks;

/// <summary>Shared setup: a cluster of N nodes and 10 jobs per node, replayed from a pristine snapshot each iteration.</summary>
public abstract class PlacementBenchmarkBase
{
    protected Workloads.NodeSpec[] NodeSpecs = [];
    protected ClusterSnapshot Pristine = null!;
    protected ClusterSnapshot Cluster = null!;
    protected PlacementRequest[] Requests = [];
    protected BenchJob[] Jobs = [];
    protected List<PortalNode> PortalNodes = [];
    protected List<PortalJob> PortalJobs = [];
    protected int[] Chosen = new int[64];

    protected void Build(int nodes, int jobs, int naiveJobs, int minNodes = 1, int maxNodes = 1)
    {
        NodeSpecs = Workloads.Nodes(nodes);
        Pristine = Workloads.Snapshot(NodeSpecs);
        Jobs = Workloads.Jobs(jobs, minNodes: minNodes, maxNodes: maxNodes);
        Requests = Workloads.Requests(Pristine, Jobs);
        PortalJobs = Portal.Jobs(Jobs[..Math.Min(naiveJobs, jobs)]);
    }

    protected void ResetFast()
    {
        Cluster = Pristine.Clone();
        Cluster.FindFirst(Requests[0]); // build the indexes outside the measurement
    }

    protected void ResetNaive() => PortalNodes = Portal.Nodes(NodeSpecs);

    /// <summary>Jobs placed, nodes used and fragmentation after placing the whole workload with a policy.</summary>
    public (int Placed, int NodesUsed, double Fragmentation) QualityOf(IPlacementPolicy policy, int jobs)
    {
        ResetFast();
        PlacementRequest[] all = Requests;
        Requests = all[..Math.Min(jobs, all.Length)];
        int placed = PlaceAll(policy);
        Requests = all;
        var (used, frag) = Workloads.Quality(Cluster);
        return (placed, used, frag);
    }

    /// <summary>Whether the fast policy and the naive LINQ version choose the same node for each of the naive jobs.</summary>
    public bool AgreesWithNaive(bool best)
    {
        ResetFast();
        ResetNaive();
        IPlacementPolicy policy = best ? new BestFitPlacementPolicy() : new FirstFitPlacementPolicy();
        int[] c = new int[1];
        for (int i = 0; i < PortalJobs.Count; i++)
        {
            PortalNode? n = best ? Portal.BestFit(PortalNodes, PortalJobs[i]) : Portal.FirstFit(PortalNodes, PortalJobs[i]);
            bool fast = policy.TryPlace(Cluster, Requests[i], c);
            if (fast != (n is not null)) return false;
            if (n is null) continue;
            if (Cluster.Names[c[0]] != "node" + n.Name[4..].PadLeft(6, '0')) return false;
            Cluster.Allocate(c[0], Requests[i]);
            Portal.Allocate(n, PortalJobs[i]);
        }
        return true;
    }

    /// <summary>Places every job with the policy; returns how many were placed.</summary>
    protected int PlaceAll(IPlacementPolicy policy)
    {
        ClusterSnapshot s = Cluster;
        PlacementRequest[] reqs = Requests;
        Span<int> chosen = Chosen;
        int placed = 0;
        for (int i = 0; i < reqs.Length; i++)
        {
            ref readonly PlacementRequest r = ref reqs[i];
            Span<int> c = chosen[..r.Nodes];
            if (!policy.TryPlace(s, r, c)) continue;
            if (r.Nodes == 1) s.Allocate(c[0], r); else s.AllocateGang(c, r);
            placed++;
        }
        return placed;
    }
}

[MemoryDiagnoser]
public class FirstFitBenchmarks : PlacementBenchmarkBase
{
    public const int NodeCount = 10_000, JobCount = 100_000, NaiveJobCount = 5_000;
    private readonly FirstFitPlacementPolicy _policy = new();

    [GlobalSetup] public void Setup() => Build(NodeCount, JobCount, NaiveJobCount);
    [IterationSetup(Target = nameof(FirstFit))] public void SetupFast() => ResetFast();
    [IterationSetup(Target = nameof(NaiveFirstFit))] public void SetupNaive() => ResetNaive();

    [Benchmark(OperationsPerInvoke = JobCount)]
    public int FirstFit() => PlaceAll(_policy);

    [Benchmark(OperationsPerInvoke = NaiveJobCount)]
    public int NaiveFirstFit()
    {
        int placed = 0;
        foreach (PortalJob j in PortalJobs)
            if (Portal.FirstFit(PortalNodes, j) is { } n) { Portal.Allocate(n, j); placed++; }
        return placed;
    }
}

[MemoryDiagnoser]
public class BestFitBenchmarks : PlacementBenchmarkBase
{
    public const int NodeCount = 10_000, JobCount = 100_000, NaiveJobCount = 300;
    private readonly BestFitPlacementPolicy _policy = new();

    [GlobalSetup] public void Setup() => Build(NodeCount, JobCount, NaiveJobCount);
    [IterationSetup(Target = nameof(BestFit))] public void SetupFast() { ResetFast(); int[] c = new int[1]; _policy.TryPlace(Cluster, Requests[0], c); }
    [IterationSetup(Target = nameof(NaiveBestFit))] public void SetupNaive() => ResetNaive();

    [Benchmark(OperationsPerInvoke = JobCount)]
    public int BestFit() => PlaceAll(_policy);

    [Benchmark(OperationsPerInvoke = NaiveJobCount)]
    public int NaiveBestFit()
    {
        int placed = 0;
        foreach (PortalJob j in PortalJobs)
            if (Portal.BestFit(PortalNodes, j) is { } n) { Portal.Allocate(n, j); placed++; }
        return placed;
    }
}

/// <summary>First fit at 1k, 10k and 100k nodes (10 jobs per node): time per placement should stay nearly flat.</summary>
[MemoryDiagnoser]
public class ScaleBenchmarks : PlacementBenchmarkBase
{
    private readonly FirstFitPlacementPolicy _policy = new();

    [Params(1_000, 10_000, 100_000)]
    public int Nodes { get; set; }

    [GlobalSetup] public void Setup() => Build(Nodes, Nodes * 10, 0);
    [IterationSetup] public void SetupFast() => ResetFast();

    [Benchmark]
    public int FirstFitAll() => PlaceAll(_policy);
}

/// <summary>Gangs of 2–64 whole-share nodes, all or nothing, on 10k nodes half full.</summary>
[MemoryDiagnoser]
public class GangBenchmarks : PlacementBenchmarkBase
{
    public const int NodeCount = 10_000, GangCount = 2_000, NaiveGangCount = 300;
    private readonly FirstFitPlacementPolicy _policy = new();
    private ClusterSnapshot _halfFull = null!;
    private List<PortalNode> _portalHalf = [];

    [GlobalSetup]
    public void Setup()
    {
        Build(NodeCount, GangCount, NaiveGangCount, minNodes: 2, maxNodes: 64);
        // Pre-fill about half the cluster with single-node jobs.
        _halfFull = Pristine.Clone();
        BenchJob[] fill = Workloads.Jobs(NodeCount * 5, seed: 9);
        PlacementRequest[] fr = Workloads.Requests(_halfFull, fill);
        int[] c = new int[1];
        var ff = new FirstFitPlacementPolicy();
        var portal = Portal.Nodes(NodeSpecs);
        foreach (PlacementRequest r in fr)
            if (ff.TryPlace(_halfFull, r, c))
            {
                _halfFull.Allocate(c[0], r);
                var pn = portal[c[0]];
                pn.Free["cpu"] -= r.Cpus; pn.Free["mem"] -= r.MemoryMiB; pn.Free["gpu"] -= r.Gpus;
            }
        _portalHalf = portal;
    }

    [IterationSetup(Target = nameof(Gangs))]
    public void SetupFast() { Cluster = _halfFull.Clone(); Cluster.FindFirst(Requests[0]); }

    [IterationSetup(Target = nameof(NaiveGangs))]
    public void SetupNaive() => PortalNodes = _portalHalf.Select(n => new PortalNode
    {
        Name = n.Name, Capacity = n.Capacity, Free = new Dictionary<string, long>(n.Free), Labels = n.Labels,
    }).ToList();

    [Benchmark(OperationsPerInvoke = GangCount)]
    public int Gangs() => PlaceAll(_policy);

    [Benchmark(OperationsPerInvoke = NaiveGangCount)]
    public int NaiveGangs()
    {
        int placed = 0;
        foreach (PortalJob j in PortalJobs)
            if (Portal.Gang(PortalNodes, j) is { } nodes) { foreach (PortalNode n in nodes) Portal.Allocate(n, j); placed++; }
        return placed;
    }
}

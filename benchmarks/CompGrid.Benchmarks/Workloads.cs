using CompGrid.Placement;

namespace CompGrid.Benchmarks;

/// <summary>One generated job: per-node request plus the label it requires (or null), as both models see it.</summary>
public sealed record BenchJob(int Cpus, long MemoryMiB, int Gpus, int Nodes, string? Label);

/// <summary>
/// The deterministic workload of reference/performance.md §5: 70% 64-core/256 GiB nodes, 20% 128-core/1 TiB, 10%
/// 64-core/512 GiB/8 GPUs, 8 random labels of 64 per node; jobs of {1,1,2,2,4,4,8,8,16,32} cores with 2–8 GiB per core,
/// 5% asking for 1–8 GPUs, 10% requiring one label.
/// </summary>
public static class Workloads
{
    public const int LabelCount = 64;

    public static string Label(int i) => "l" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public sealed record NodeSpec(int Cpus, long MemoryMiB, int Gpus, string[] Labels);

    public static NodeSpec[] Nodes(int count, int seed = 1)
    {
        var rng = new Random(seed);
        var nodes = new NodeSpec[count];
        for (int i = 0; i < count; i++)
        {
            double t = rng.NextDouble();
            var labels = new HashSet<string>();
            while (labels.Count < 8) labels.Add(Label(rng.Next(LabelCount)));
            nodes[i] = t < 0.7 ? new NodeSpec(64, 256 * 1024, 0, [.. labels])
                : t < 0.9 ? new NodeSpec(128, 1024 * 1024, 0, [.. labels])
                : new NodeSpec(64, 512 * 1024, 8, [.. labels]);
        }
        return nodes;
    }

    private static readonly int[] CpuSizes = [1, 1, 2, 2, 4, 4, 8, 8, 16, 32];

    public static BenchJob[] Jobs(int count, int seed = 2, int minNodes = 1, int maxNodes = 1)
    {
        var rng = new Random(seed);
        var jobs = new BenchJob[count];
        for (int i = 0; i < count; i++)
        {
            int cpus = CpuSizes[rng.Next(CpuSizes.Length)];
            long mem = cpus * (long)rng.Next(2, 9) * 1024;
            int gpus = rng.NextDouble() < 0.05 ? rng.Next(1, 9) : 0;
            string? label = rng.NextDouble() < 0.10 ? Label(rng.Next(LabelCount)) : null;
            jobs[i] = new BenchJob(cpus, mem, gpus, rng.Next(minNodes, maxNodes + 1), label);
        }
        return jobs;
    }

    public static ClusterSnapshot Snapshot(NodeSpec[] nodes)
    {
        var s = new ClusterSnapshot();
        for (int i = 0; i < nodes.Length; i++)
        {
            var cap = new NodeResources(nodes[i].Cpus, nodes[i].MemoryMiB, nodes[i].Gpus);
            s.AddNode("node" + i.ToString("D6", System.Globalization.CultureInfo.InvariantCulture), cap, cap, nodes[i].Labels, null, nodes[i].Gpus > 0 ? "a100" : null);
        }
        return s;
    }

    public static PlacementRequest[] Requests(ClusterSnapshot s, BenchJob[] jobs)
    {
        var result = new PlacementRequest[jobs.Length];
        for (int i = 0; i < jobs.Length; i++)
        {
            BenchJob j = jobs[i];
            ulong label = j.Label is null ? 0 : s.GetFeatureMask([j.Label]);
            result[i] = new PlacementRequest(j.Cpus, j.MemoryMiB, j.Gpus, j.Nodes, label);
        }
        return result;
    }

    /// <summary>
    /// Nodes used, and fragmentation: the share of free CPUs stranded on nodes that cannot take a typical 8-core,
    /// 32 GiB job any more (fewer than 8 CPUs or 32 GiB left there).
    /// </summary>
    public static (int NodesUsed, double Fragmentation) Quality(ClusterSnapshot s)
    {
        int used = 0;
        long stranded = 0, free = 0;
        for (int i = 0; i < s.Count; i++)
        {
            free += s.FreeCpus[i];
            if (s.JobCounts[i] > 0) used++;
            if (s.FreeCpus[i] < 8 || s.FreeMemoryMiB[i] < 32 * 1024) stranded += s.FreeCpus[i];
        }
        return (used, free == 0 ? 0 : (double)stranded / free);
    }
}

/// <summary>How a typical portal would write it: node objects with dictionaries of resources, sets of labels, LINQ.</summary>
public sealed class PortalNode
{
    public required string Name { get; init; }
    public required Dictionary<string, long> Capacity { get; init; }
    public required Dictionary<string, long> Free { get; init; }
    public required HashSet<string> Labels { get; init; }
    public List<string> Jobs { get; } = [];
}

public sealed class PortalJob
{
    public required string Id { get; init; }
    public required Dictionary<string, long> Request { get; init; }
    public required List<string> RequiredLabels { get; init; }
    public int Nodes { get; init; } = 1;
}

public static class Portal
{
    public static List<PortalNode> Nodes(Workloads.NodeSpec[] specs) => specs.Select((n, i) => new PortalNode
    {
        Name = "node" + i,
        Capacity = new Dictionary<string, long> { ["cpu"] = n.Cpus, ["mem"] = n.MemoryMiB, ["gpu"] = n.Gpus },
        Free = new Dictionary<string, long> { ["cpu"] = n.Cpus, ["mem"] = n.MemoryMiB, ["gpu"] = n.Gpus },
        Labels = [.. n.Labels],
    }).ToList();

    public static List<PortalJob> Jobs(BenchJob[] jobs) => jobs.Select((j, i) => new PortalJob
    {
        Id = "job" + i,
        Request = new Dictionary<string, long> { ["cpu"] = j.Cpus, ["mem"] = j.MemoryMiB, ["gpu"] = j.Gpus },
        RequiredLabels = j.Label is null ? [] : [j.Label],
        Nodes = j.Nodes,
    }).ToList();

    public static bool Fits(PortalNode n, PortalJob j) => j.Request.All(r => n.Free[r.Key] >= r.Value) && j.RequiredLabels.All(n.Labels.Contains);

    public static void Allocate(PortalNode n, PortalJob j)
    {
        foreach (var r in j.Request) n.Free[r.Key] -= r.Value;
        n.Jobs.Add(j.Id);
    }

    // Best fit's packing rule (ClusterSnapshot.PackScore) the way a portal would write it.
    public static long Score(PortalNode n, PortalJob j)
    {
        long Left(string r) => n.Capacity[r] > 0 ? (n.Free[r] - j.Request[r]) * 1_000_000 / n.Capacity[r] : 0;
        bool empty = n.Capacity.All(c => n.Free[c.Key] == c.Value);
        return empty ? 4_000_000 + Left("gpu") + (2_000_000 - Left("cpu") - Left("mem")) : Left("cpu") + Left("mem") + Left("gpu") + Math.Abs(Left("cpu") - Left("mem"));
    }

    public static PortalNode? FirstFit(List<PortalNode> nodes, PortalJob j) => nodes.FirstOrDefault(n => Fits(n, j));

    public static PortalNode? BestFit(List<PortalNode> nodes, PortalJob j) =>
        nodes.Select((n, i) => (n, i)).Where(x => Fits(x.n, j)).OrderBy(x => Score(x.n, j)).ThenBy(x => x.i).Select(x => x.n).FirstOrDefault();

    public static List<PortalNode>? Gang(List<PortalNode> nodes, PortalJob j)
    {
        var chosen = nodes.Where(n => Fits(n, j)).Take(j.Nodes).ToList();
        return chosen.Count == j.Nodes ? chosen : null;
    }
}

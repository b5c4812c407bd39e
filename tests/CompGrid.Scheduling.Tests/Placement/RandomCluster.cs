using CompGrid.Placement;

namespace CompGrid.Scheduling.Tests.Placement;

/// <summary>Random clusters and requests from a seed (heterogeneous nodes, features, partitions, GPU models).</summary>
internal static class RandomCluster
{
    public static readonly string[] Features = ["avx512", "ib", "ssd", "lab"];
    public static readonly string[] Partitions = ["batch", "debug"];

    public static ClusterSnapshot Create(Random rng, int? nodes = null)
    {
        var s = new ClusterSnapshot();
        int n = nodes ?? rng.Next(1, 80);
        for (int i = 0; i < n; i++)
        {
            int cpus = new[] { 4, 8, 16, 64 }[rng.Next(4)];
            long mem = new[] { 8192L, 16384, 65536 }[rng.Next(3)];
            int gpus = new[] { 0, 0, 0, 2, 4 }[rng.Next(5)];
            var features = Features.Where(_ => rng.Next(3) == 0).ToArray();
            var partitions = Partitions.Where(_ => rng.Next(2) == 0).ToArray();
            string? model = gpus > 0 ? (rng.Next(2) == 0 ? "a100" : "v100") : null;
            s.AddNode("n" + i, new NodeResources(cpus, mem, gpus), new NodeResources(cpus, mem, gpus), features, partitions, model, schedulable: rng.Next(10) != 0);
        }
        return s;
    }

    public static PlacementRequest Request(Random rng, ClusterSnapshot s)
    {
        int gpus = rng.Next(6) == 0 ? rng.Next(1, 3) : 0;
        int model = gpus > 0 && rng.Next(2) == 0 ? s.GetGpuModelId(rng.Next(2) == 0 ? "a100" : "v100") : 0;
        ulong req = rng.Next(5) == 0 ? s.GetFeatureMask([Features[rng.Next(Features.Length)]]) : 0;
        ulong forbid = rng.Next(6) == 0 ? s.GetFeatureMask([Features[rng.Next(Features.Length)]]) & ~req : 0;
        ulong part = rng.Next(4) == 0 ? s.GetPartitionMask(Partitions[rng.Next(Partitions.Length)]) : 0;
        int nodes = rng.Next(5) == 0 ? rng.Next(2, 5) : 1;
        // memory in 512 MiB steps so that many jobs share a shape (exercises the shape cursors)
        return new PlacementRequest(rng.Next(1, 17), rng.Next(0, 33) * 512L, gpus, nodes, req, forbid, part, model, Exclusive: rng.Next(12) == 0);
    }
}

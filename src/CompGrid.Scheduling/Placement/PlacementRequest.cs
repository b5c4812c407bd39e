namespace CompGrid.Placement;

/// <summary>One job's placement request against a <see cref="ClusterSnapshot"/>: per-node amounts, node count and constraint masks.</summary>
public readonly record struct PlacementRequest(
    int Cpus, long MemoryMiB, int Gpus, int Nodes,
    ulong RequiredFeatures = 0, ulong ForbiddenFeatures = 0, ulong PartitionMask = 0, int GpuModel = 0, bool Exclusive = false);

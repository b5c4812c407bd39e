namespace CompGrid;

/// <summary>A node's availability.</summary>
public enum NodeState
{
    /// <summary>Accepting work.</summary>
    Up,
    /// <summary>Running its jobs but accepting no new ones.</summary>
    Draining,
    /// <summary>Unreachable or failed.</summary>
    Down,
    /// <summary>Switched off (a VM or lab machine that can be started).</summary>
    PoweredOff,
}

/// <summary>An amount of resources on one node.</summary>
public readonly record struct NodeResources(int Cpus, long MemoryMiB, int Gpus)
{
    /// <summary>Whether this amount covers <paramref name="other"/> in every resource.</summary>
    public bool Covers(NodeResources other) => Cpus >= other.Cpus && MemoryMiB >= other.MemoryMiB && Gpus >= other.Gpus;

    /// <summary>Adds two amounts.</summary>
    public static NodeResources operator +(NodeResources a, NodeResources b) => new(a.Cpus + b.Cpus, a.MemoryMiB + b.MemoryMiB, a.Gpus + b.Gpus);

    /// <summary>Subtracts two amounts.</summary>
    public static NodeResources operator -(NodeResources a, NodeResources b) => new(a.Cpus - b.Cpus, a.MemoryMiB - b.MemoryMiB, a.Gpus - b.Gpus);

    /// <inheritdoc/>
    public override string ToString() => $"cpu={Cpus}, mem={MemoryMiB}MiB, gpu={Gpus}";
}

/// <summary>A node of a backend: capacity, free resources, features and state.</summary>
public sealed record NodeInfo
{
    /// <summary>The node name, unique within its backend.</summary>
    public string Name { get; init; } = "";

    /// <summary>The backend the node belongs to.</summary>
    public string Backend { get; init; } = "";

    /// <summary>Total resources.</summary>
    public NodeResources Capacity { get; init; }

    /// <summary>Resources not allocated to jobs (as the backend reports them).</summary>
    public NodeResources Free { get; init; }

    /// <summary>Features (for example <c>avx512</c>, <c>ib</c>, <c>lab</c>).</summary>
    public IReadOnlyList<string> Features { get; init; } = [];

    /// <summary>The GPU model, when the node has GPUs.</summary>
    public string? GpuModel { get; init; }

    /// <summary>Partitions (node pools) the node belongs to.</summary>
    public IReadOnlyList<string> Partitions { get; init; } = [];

    /// <summary>The state.</summary>
    public NodeState State { get; init; } = NodeState.Up;

    /// <summary>The backend's own state name.</summary>
    public string? NativeState { get; init; }

    /// <summary>Why the node is not Up, when known.</summary>
    public string? Reason { get; init; }

    /// <inheritdoc/>
    public override string ToString() => $"{Backend}/{Name} {State} free {Free} of {Capacity}";
}

namespace CompGrid;

/// <summary>
/// The names of the built-in placement policies, for <see cref="CompGridOptions.PlacementPolicy"/> and
/// <c>SimulationConfiguration.PlacementPolicy</c>. Names are matched ordinal-ignore-case; a custom policy registered
/// with <c>AddPlacementPolicy&lt;T&gt;()</c> under one of these names replaces the built-in.
/// </summary>
public static class PlacementPolicyNames
{
    /// <summary>First fit: the lowest-indexed nodes that fit (threshold bitsets and a per-shape cursor; the fastest). The default.</summary>
    public const string FirstFit = "first-fit";

    /// <summary>Best fit (bin packing): the node with the least capacity left after placing the job; ties to the lowest index.</summary>
    public const string BestFit = "best-fit";

    /// <summary>Spread (least allocated): the node with the most capacity left after placing the job; ties to the lowest index.</summary>
    public const string Spread = "spread";

    /// <summary>GPU-aware first fit: GPU jobs to nodes with the requested model; jobs without GPUs kept off GPU nodes while another node fits.</summary>
    public const string GpuAware = "gpu-aware";
}

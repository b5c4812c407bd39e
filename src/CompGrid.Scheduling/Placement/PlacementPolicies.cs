namespace CompGrid.Placement;

/// <summary>
/// First fit: the lowest-indexed nodes that fit. The fastest policy (threshold bitsets and a per-shape cursor in the
/// <see cref="ClusterSnapshot"/>); registered as <c>first-fit</c>.
/// </summary>
internal sealed class FirstFitPlacementPolicy : IPlacementPolicy
{
    /// <summary>The registered name.</summary>
    public const string PolicyName = PlacementPolicyNames.FirstFit;

    /// <inheritdoc/>
    public string Name => PolicyName;

    /// <inheritdoc/>
    public bool TryPlace(ClusterSnapshot cluster, in PlacementRequest request, Span<int> chosen)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        return cluster.TryFindFirstFit(request, chosen);
    }
}

/// <summary>
/// Best fit (bin packing): a node already in use before an empty one, and among those the node left tightest after
/// placing the job, counting CPU, memory and GPUs each as a fraction of the node's capacity and penalising CPU and
/// memory left out of balance (<see cref="ClusterSnapshot.PackScore"/>); ties go to the lowest index. Uses few nodes,
/// strands little and keeps empty nodes whole for large jobs. Registered as <c>best-fit</c>.
/// </summary>
internal sealed class BestFitPlacementPolicy : IPlacementPolicy
{
    /// <summary>The registered name.</summary>
    public const string PolicyName = PlacementPolicyNames.BestFit;

    /// <inheritdoc/>
    public string Name => PolicyName;

    /// <inheritdoc/>
    public bool TryPlace(ClusterSnapshot cluster, in PlacementRequest request, Span<int> chosen)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        return cluster.TryFindBestFit(request, chosen, spread: false);
    }
}

/// <summary>
/// Spread (least allocated): the node with the most capacity left after placing the job; ties go to the lowest
/// index. Spreads load and interference. Registered as <c>spread</c>.
/// </summary>
internal sealed class SpreadPlacementPolicy : IPlacementPolicy
{
    /// <summary>The registered name.</summary>
    public const string PolicyName = PlacementPolicyNames.Spread;

    /// <inheritdoc/>
    public string Name => PolicyName;

    /// <inheritdoc/>
    public bool TryPlace(ClusterSnapshot cluster, in PlacementRequest request, Span<int> chosen)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        return cluster.TryFindBestFit(request, chosen, spread: true);
    }
}

/// <summary>
/// GPU-aware first fit: jobs that ask for GPUs go to nodes with the requested GPU model (when one is named); jobs that
/// ask for none are kept off GPU nodes while a node without GPUs fits, and only then fall back to GPU nodes.
/// Registered as <c>gpu-aware</c>.
/// </summary>
internal sealed class GpuAwarePlacementPolicy : IPlacementPolicy
{
    /// <summary>The registered name.</summary>
    public const string PolicyName = PlacementPolicyNames.GpuAware;

    /// <inheritdoc/>
    public string Name => PolicyName;

    /// <inheritdoc/>
    public bool TryPlace(ClusterSnapshot cluster, in PlacementRequest request, Span<int> chosen)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        if (request.Gpus > 0) return cluster.TryFindFirstFit(request, chosen);
        return cluster.TryFindFirstFit(request, chosen, avoidGpuNodes: true) || cluster.TryFindFirstFit(request, chosen);
    }
}

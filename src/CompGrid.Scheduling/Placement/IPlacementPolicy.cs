namespace CompGrid.Placement;

/// <summary>
/// Chooses node(s) for a job. Named and selected by configuration (an unknown name fails start-up).
/// Implementations must not allocate on the hot path.
/// </summary>
public interface IPlacementPolicy
{
    /// <summary>The policy's registered name (for example <c>first-fit</c>).</summary>
    string Name { get; }

    /// <summary>
    /// Chooses <see cref="PlacementRequest.Nodes"/> distinct nodes that each fit the request, writing their indexes to
    /// <paramref name="chosen"/> (all or nothing). Does not change the snapshot. Returns <see langword="false"/> when the job does not fit now.
    /// </summary>
    bool TryPlace(ClusterSnapshot cluster, in PlacementRequest request, Span<int> chosen);
}

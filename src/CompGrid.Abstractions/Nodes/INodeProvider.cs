namespace CompGrid;

/// <summary>
/// Starts and stops the nodes of a backend that can be switched off: VMs, or lab machines woken by a command. The power
/// manager drives it; the backend named <see cref="Backend"/> runs the jobs once a node is up. A node that is off is
/// reported with <see cref="NodeState.PoweredOff"/> and is never chosen for a job.
/// </summary>
public interface INodeProvider
{
    /// <summary>The name of the backend whose nodes this provider powers.</summary>
    string Backend { get; }

    /// <summary>The provider's nodes with their power state (<see cref="NodeState.PoweredOff"/> when off).</summary>
    Task<IReadOnlyList<NodeInfo>> GetNodesAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Powers the node on and returns once it accepts work. No effect on a node that is up. Throws
    /// <see cref="CompGridException"/> (code <see cref="CompGridErrorCodes.NodeStartFailed"/>) when it does not come up.
    /// </summary>
    Task StartNodeAsync(string node, CancellationToken cancellationToken = default);

    /// <summary>Powers the node off (cleanly, then forcibly after a grace period). No effect on a node that is off.</summary>
    Task StopNodeAsync(string node, CancellationToken cancellationToken = default);
}

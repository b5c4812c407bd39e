namespace CompGrid;

/// <summary>
/// "One active scheduler" for portals that run several instances on one shared store. Every engine instance asks
/// for the lease before each scheduling cycle; the holder schedules, tracks and reconciles, the others stand by
/// (they still accept submissions, cancels and approvals, which go to the shared store) and take over when the
/// holder stops or dies. Without a registered lease an engine assumes it is alone.
/// </summary>
public interface ISchedulerLease
{
    /// <summary>Takes the lease if it is free, or confirms that this instance still holds it. Returns whether it holds it now.</summary>
    ValueTask<bool> TryAcquireAsync(CancellationToken cancellationToken = default);

    /// <summary>Gives the lease up (on shutdown), so a standby can take over at once.</summary>
    ValueTask ReleaseAsync(CancellationToken cancellationToken = default);
}

namespace CompGrid.Sessions.Services;

/// <summary>
/// One request's claim on a replica, from <see cref="ServiceManager.Acquire"/>: its address, counted in flight until
/// disposed (least-requests balancing reads that count).
/// </summary>
public sealed class ServiceLease : IDisposable
{
    private readonly ReplicaSlot _slot;
    private int _disposed;

    internal ServiceLease(ReplicaSlot slot)
    {
        _slot = slot;
        slot.Enter();
    }

    /// <summary>The replica's loopback address.</summary>
    public Uri Upstream => _slot.Upstream;

    /// <summary>The replica's number.</summary>
    public int ReplicaId => _slot.Id;

    /// <summary>
    /// The replica could not be reached (connection refused or reset): it is marked unhealthy at once, so no further
    /// request goes to it until a health check passes again (passive health).
    /// </summary>
    public void Fail()
    {
        if (_slot.State == ReplicaState.Healthy) _slot.State = ReplicaState.Unhealthy;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) _slot.Leave();
    }
}

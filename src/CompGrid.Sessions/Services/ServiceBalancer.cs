namespace CompGrid.Sessions.Services;

/// <summary>
/// Picks the replica for one request among the healthy ones only: in turn (<see cref="BalancingPolicy.RoundRobin"/>),
/// or the one with the fewest requests in flight, ties taken in turn (<see cref="BalancingPolicy.LeastRequests"/>).
/// </summary>
internal sealed class ServiceBalancer(BalancingPolicy policy)
{
    private int _next = -1;

    public ReplicaSlot? Pick(IReadOnlyList<ReplicaSlot> replicas)
    {
        int count = replicas.Count;
        if (count == 0) return null;
        int start = (int)((uint)Interlocked.Increment(ref _next) % (uint)count);
        ReplicaSlot? best = null;
        for (int k = 0; k < count; k++)
        {
            var r = replicas[(start + k) % count];
            if (r.State != ReplicaState.Healthy) continue;
            if (policy == BalancingPolicy.RoundRobin) return r;
            if (best is null || r.InFlight < best.InFlight) best = r;
        }
        return best;
    }
}

namespace CompGrid.Sessions.Services;

/// <summary>One deployed service as the manager holds it. Replicas are an array swapped whole, so the proxy reads it without a lock.</summary>
internal sealed class ServiceState(ServiceSpec spec, string url, DateTimeOffset createdAt, RequestRateWindow rate)
{
    private ReplicaSlot[] _replicas = [];

    public ServiceSpec Spec { get; } = spec;
    public string Url { get; } = url;
    public DateTimeOffset CreatedAt { get; } = createdAt;
    public RequestRateWindow Rate { get; } = rate;
    public ServiceBalancer Balancer { get; } = new(spec.Balancing);
    public object Lock { get; } = new();
    public List<string> JobIds { get; } = [];
    public int NextReplicaId { get; set; } = 1;
    public int Desired { get; set; } = spec.MinReplicas;
    public DateTimeOffset LastScaleAt { get; set; } = createdAt;
    public int Restarts { get; set; }
    public bool Deleted { get; set; }

    public ReplicaSlot[] Replicas => Volatile.Read(ref _replicas);

    public void Add(ReplicaSlot slot)
    {
        lock (Lock) { Volatile.Write(ref _replicas, [.. _replicas, slot]); JobIds.Add(slot.JobId); }
    }

    public void Remove(ReplicaSlot slot)
    {
        lock (Lock) Volatile.Write(ref _replicas, _replicas.Where(r => r != slot).ToArray());
    }

    public ServiceInfo Snapshot()
    {
        lock (Lock)
        {
            return new ServiceInfo
            {
                Name = Spec.Name, Owner = Spec.Owner, Spec = Spec, Url = Url, CreatedAt = CreatedAt, DesiredReplicas = Desired,
                RequestsPerSecond = Math.Round(Rate.PerSecond(), 3), Replicas = [.. _replicas.Select(r => r.Snapshot())],
                JobIds = [.. JobIds], Restarts = Restarts, Deleted = Deleted,
            };
        }
    }
}

namespace CompGrid.Sessions.Services;

/// <summary>The manager's own, mutable view of one replica; snapshots of it are <see cref="ServiceReplicaInfo"/>.</summary>
internal sealed class ReplicaSlot(int id, string jobId, int port, DateTimeOffset createdAt)
{
    private int _inFlight;
    private volatile int _state = (int)ReplicaState.Starting;

    public int Id { get; } = id;
    public string JobId { get; } = jobId;
    public Uri Upstream { get; } = new($"http://127.0.0.1:{port}/");
    public DateTimeOffset CreatedAt { get; } = createdAt;

    /// <summary>When the manager first saw its job running (its clock); health failures count from StartGrace after it.</summary>
    public DateTimeOffset? RunningSince { get; set; }
    public DateTimeOffset NextProbeAt { get; set; }
    public int Failures { get; set; }

    public ReplicaState State { get => (ReplicaState)_state; set => _state = (int)value; }
    public int InFlight => Volatile.Read(ref _inFlight);
    public void Enter() => Interlocked.Increment(ref _inFlight);
    public void Leave() => Interlocked.Decrement(ref _inFlight);

    public ServiceReplicaInfo Snapshot() => new()
    {
        Id = Id, JobId = JobId, State = State, Failures = Failures, InFlight = InFlight, CreatedAt = CreatedAt, Upstream = Upstream,
    };
}

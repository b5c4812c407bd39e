namespace CompGrid.Testing;

/// <summary>
/// A scheduler lease shared by several engines in one process (tests of active/standby): create one
/// <see cref="InMemoryLeaseGroup"/> and give each engine its own <see cref="InMemoryLeaseGroup.CreateLease"/>.
/// </summary>
public sealed class InMemoryLeaseGroup
{
    private readonly object _gate = new();
    private InMemorySchedulerLease? _holder;

    /// <summary>The lease of one engine instance.</summary>
    public ISchedulerLease CreateLease(string instance) => new InMemorySchedulerLease(this, instance);

    /// <summary>The instance holding the lease, or null.</summary>
    public string? Holder { get { lock (_gate) return _holder?.Instance; } }

    private sealed class InMemorySchedulerLease(InMemoryLeaseGroup group, string instance) : ISchedulerLease
    {
        public string Instance { get; } = instance;

        public ValueTask<bool> TryAcquireAsync(CancellationToken cancellationToken = default)
        {
            lock (group._gate)
            {
                group._holder ??= this;
                return ValueTask.FromResult(ReferenceEquals(group._holder, this));
            }
        }

        public ValueTask ReleaseAsync(CancellationToken cancellationToken = default)
        {
            lock (group._gate) if (ReferenceEquals(group._holder, this)) group._holder = null;
            return ValueTask.CompletedTask;
        }
    }
}

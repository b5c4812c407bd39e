using System.Collections.Concurrent;

namespace CompGrid.VirtualMachines;

/// <summary>
/// Where instance records are kept. The service saves a record after each transition and after each charged period,
/// so after a restart it resumes metering from the last saved state (a period delivered but not yet saved is
/// delivered again under the same key, which billing ignores).
/// </summary>
public interface IInstanceStore
{
    /// <summary>One instance, or null.</summary>
    Task<VirtualMachineInstance?> GetAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Every instance, deleted ones included.</summary>
    Task<IReadOnlyList<VirtualMachineInstance>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>Creates or replaces the record of <see cref="VirtualMachineInstance.Id"/>, durably before returning.</summary>
    Task SaveAsync(VirtualMachineInstance instance, CancellationToken cancellationToken = default);
}

/// <summary>An instance store in memory: for tests and hosts that need no restart.</summary>
public sealed class InMemoryInstanceStore : IInstanceStore
{
    private readonly ConcurrentDictionary<string, VirtualMachineInstance> _records = new(StringComparer.Ordinal);

    /// <inheritdoc/>
    public Task<VirtualMachineInstance?> GetAsync(string id, CancellationToken cancellationToken = default) =>
        Task.FromResult(_records.TryGetValue(id, out var r) ? r : null);

    /// <inheritdoc/>
    public Task<IReadOnlyList<VirtualMachineInstance>> ListAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<VirtualMachineInstance>>([.. _records.Values.OrderBy(r => r.CreatedAt).ThenBy(r => r.Id, StringComparer.Ordinal)]);

    /// <inheritdoc/>
    public Task SaveAsync(VirtualMachineInstance instance, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instance);
        _records[instance.Id] = instance;
        return Task.CompletedTask;
    }
}

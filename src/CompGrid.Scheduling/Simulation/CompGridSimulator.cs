using CompGrid.Placement;

namespace CompGrid.Simulation;

/// <summary>
/// The simulator as a service: runs <see cref="Simulator"/> with every policy the engine sees — the built-ins plus
/// those registered with <c>AddPlacementPolicy&lt;T&gt;()</c> and <c>AddQueueOrderingPolicy&lt;T&gt;()</c> — from the
/// same registry and with the same case rule (ordinal-ignore-case). <c>AddCompGrid()</c> registers it; without DI,
/// construct it with the policies to add to the built-ins.
/// </summary>
/// <example>
/// <code>
/// var simulator = provider.GetRequiredService&lt;CompGridSimulator&gt;();
/// SimulationReport report = simulator.Simulate(Workload.Generate(42, 1000), new SimulationConfiguration { PlacementPolicy = "my-policy" });
/// </code>
/// </example>
public sealed class CompGridSimulator
{
    private readonly SchedulingPolicyRegistry _registry;

    /// <summary>A simulator with the built-in policies plus <paramref name="placementPolicies"/> and <paramref name="orderingPolicies"/> (which replace built-ins of the same name).</summary>
    public CompGridSimulator(IEnumerable<IPlacementPolicy> placementPolicies, IEnumerable<IQueueOrderingPolicy> orderingPolicies)
    {
        ArgumentNullException.ThrowIfNull(placementPolicies);
        ArgumentNullException.ThrowIfNull(orderingPolicies);
        var ledger = new Ordering.FairShareLedger();
        _registry = new SchedulingPolicyRegistry(
            SchedulingPolicyRegistry.BuiltInPlacement().Concat(placementPolicies),
            SchedulingPolicyRegistry.BuiltInOrdering(null, ledger).Concat(orderingPolicies));
    }

    internal CompGridSimulator(SchedulingPolicyRegistry registry) => _registry = registry;

    /// <summary>The placement policy names the simulator knows, sorted.</summary>
    public IReadOnlyList<string> PlacementPolicies => _registry.PlacementNames;

    /// <summary>The queue ordering names the simulator knows, sorted.</summary>
    public IReadOnlyList<string> QueueOrderings => _registry.OrderingNames;

    /// <summary>
    /// Simulates one configuration. Throws an <see cref="ArgumentException"/> naming the known policies when a policy
    /// name is unknown. <paramref name="cancellationToken"/> is observed once per event.
    /// </summary>
    public SimulationReport Simulate(Workload workload, SimulationConfiguration? configuration = null, CancellationToken cancellationToken = default) =>
        Simulator.Simulate(workload, configuration, _registry, cancellationToken);

    /// <summary>Simulates two configurations on the same workload (a what-if comparison).</summary>
    public SimulationComparison Compare(Workload workload, SimulationConfiguration a, SimulationConfiguration b) =>
        new(Simulate(workload, a), Simulate(workload, b));
}

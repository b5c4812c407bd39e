using System.Collections.Frozen;
using CompGrid.Ordering;
using CompGrid.Placement;

namespace CompGrid;

/// <summary>
/// The one registry of placement and queue ordering policies by name, shared by the engine and the simulator. Names
/// are matched ordinal-ignore-case; of two policies with one name the later registered wins, so a custom policy
/// replaces a built-in. Built from DI (the built-ins registered by <c>AddCompGrid()</c>, then
/// <c>AddPlacementPolicy&lt;T&gt;()</c> / <c>AddQueueOrderingPolicy&lt;T&gt;()</c>) or, without DI, by <see cref="CreateDefault"/>.
/// </summary>
internal sealed class SchedulingPolicyRegistry
{
    private readonly FrozenDictionary<string, IPlacementPolicy> _placement;
    private readonly FrozenDictionary<string, IQueueOrderingPolicy> _ordering;

    public SchedulingPolicyRegistry(IEnumerable<IPlacementPolicy> placementPolicies, IEnumerable<IQueueOrderingPolicy> orderingPolicies)
    {
        ArgumentNullException.ThrowIfNull(placementPolicies);
        ArgumentNullException.ThrowIfNull(orderingPolicies);
        _placement = ByName(placementPolicies, p => p.Name);
        _ordering = ByName(orderingPolicies, p => p.Name);
        PlacementNames = [.. _placement.Keys.Order(StringComparer.OrdinalIgnoreCase)];
        OrderingNames = [.. _ordering.Keys.Order(StringComparer.OrdinalIgnoreCase)];
    }

    /// <summary>The registered placement policy names, sorted.</summary>
    public IReadOnlyList<string> PlacementNames { get; }

    /// <summary>The registered queue ordering names, sorted.</summary>
    public IReadOnlyList<string> OrderingNames { get; }

    /// <summary>The built-in policies only; the multifactor orderings share <paramref name="ledger"/>.</summary>
    public static SchedulingPolicyRegistry CreateDefault(MultifactorPriorityOptions? priority = null, FairShareLedger? ledger = null) =>
        new(BuiltInPlacement(), BuiltInOrdering(priority, ledger ?? new FairShareLedger()));

    /// <summary>New instances of the built-in placement policies.</summary>
    public static IReadOnlyList<IPlacementPolicy> BuiltInPlacement() =>
        [new FirstFitPlacementPolicy(), new BestFitPlacementPolicy(), new SpreadPlacementPolicy(), new GpuAwarePlacementPolicy()];

    /// <summary>New instances of the built-in queue orderings; the multifactor ones share <paramref name="ledger"/>.</summary>
    public static IReadOnlyList<IQueueOrderingPolicy> BuiltInOrdering(MultifactorPriorityOptions? priority, FairShareLedger ledger) =>
    [
        new FifoQueueOrderingPolicy(), new PriorityQueueOrderingPolicy(),
        new MultifactorPriorityPolicy(priority, ledger, FairShareAlgorithm.Classic),
        new MultifactorPriorityPolicy(priority, ledger, FairShareAlgorithm.FairTree),
    ];

    public bool TryGetPlacement(string? name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IPlacementPolicy? policy)
    {
        policy = null;
        return name is not null && _placement.TryGetValue(name, out policy);
    }

    public bool TryGetOrdering(string? name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IQueueOrderingPolicy? policy)
    {
        policy = null;
        return name is not null && _ordering.TryGetValue(name, out policy);
    }

    /// <summary>The placement policy with this name; an <see cref="ArgumentException"/> listing the known names when unknown.</summary>
    public IPlacementPolicy GetPlacement(string name) =>
        TryGetPlacement(name, out IPlacementPolicy? p)
            ? p
            : throw new ArgumentException($"Unknown placement policy '{name}'. Known policies: {string.Join(", ", PlacementNames)}.", nameof(name));

    /// <summary>The queue ordering policy with this name; an <see cref="ArgumentException"/> listing the known names when unknown.</summary>
    public IQueueOrderingPolicy GetOrdering(string name) =>
        TryGetOrdering(name, out IQueueOrderingPolicy? p)
            ? p
            : throw new ArgumentException($"Unknown queue ordering policy '{name}'. Known policies: {string.Join(", ", OrderingNames)}.", nameof(name));

    private static FrozenDictionary<string, T> ByName<T>(IEnumerable<T> policies, Func<T, string> name)
    {
        var all = new Dictionary<string, T>(StringComparer.OrdinalIgnoreCase);
        foreach (T p in policies)
        {
            string n = name(p);
            if (string.IsNullOrWhiteSpace(n))
                throw new CompGridException($"The {typeof(T).Name} {p!.GetType().FullName} has no name: Name must be a non-empty string.") { Operation = "start" };
            all[n] = p; // later registrations win
        }
        return all.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }
}

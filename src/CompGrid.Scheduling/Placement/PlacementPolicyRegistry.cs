using System.Collections.Frozen;

namespace CompGrid.Placement;

/// <summary>
/// The placement policies known by name: the built-in <c>first-fit</c>, <c>best-fit</c>, <c>spread</c> and
/// <c>gpu-aware</c>, plus any registered <see cref="IPlacementPolicy"/> (a registered policy with a built-in name
/// replaces the built-in). Names are case-insensitive.
/// </summary>
public sealed class PlacementPolicyRegistry
{
    private readonly FrozenDictionary<string, IPlacementPolicy> _policies;

    /// <summary>Creates the registry with the built-in policies and <paramref name="additional"/> ones.</summary>
    public PlacementPolicyRegistry(IEnumerable<IPlacementPolicy>? additional = null)
    {
        var all = new Dictionary<string, IPlacementPolicy>(StringComparer.OrdinalIgnoreCase);
        foreach (IPlacementPolicy p in BuiltIn()) all[p.Name] = p;
        if (additional is not null)
            foreach (IPlacementPolicy p in additional)
            {
                ArgumentException.ThrowIfNullOrWhiteSpace(p.Name, "policy.Name");
                all[p.Name] = p;
            }
        _policies = all.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>The registered names, sorted.</summary>
    public IReadOnlyList<string> Names => [.. _policies.Keys.Order(StringComparer.OrdinalIgnoreCase)];

    /// <summary>Whether a policy with this name exists.</summary>
    public bool Contains(string name) => name is not null && _policies.ContainsKey(name);

    /// <summary>The policy with this name; throws an <see cref="ArgumentException"/> listing the known names when unknown.</summary>
    public IPlacementPolicy Get(string name) =>
        name is not null && _policies.TryGetValue(name, out IPlacementPolicy? p)
            ? p
            : throw new ArgumentException($"Unknown placement policy '{name}'. Known policies: {string.Join(", ", Names)}.", nameof(name));

    /// <summary>New instances of the built-in policies.</summary>
    public static IReadOnlyList<IPlacementPolicy> BuiltIn() =>
        [new FirstFitPlacementPolicy(), new BestFitPlacementPolicy(), new SpreadPlacementPolicy(), new GpuAwarePlacementPolicy()];
}

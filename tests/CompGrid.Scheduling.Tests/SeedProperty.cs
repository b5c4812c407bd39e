using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace CompGrid.Scheduling.Tests;

/// <summary>
/// An FsCheck property over one <c>int seed</c> drawn uniformly from 0..int.MaxValue-1 (not FsCheck's small,
/// size-bounded ints): the property builds its random cluster or workload from the seed, and a failure reports the
/// seed, so the case is replayed with <c>new Random(seed)</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class SeedPropertyAttribute : PropertyAttribute
{
    /// <summary>Uses <see cref="Seeds"/> for the <c>int</c> parameter.</summary>
    public SeedPropertyAttribute() => Arbitrary = [typeof(Seeds)];
}

/// <summary>The seed generator behind <see cref="SeedPropertyAttribute"/>.</summary>
public static class Seeds
{
    /// <summary>Uniform seeds; shrinking a seed means nothing, so there is none.</summary>
    public static Arbitrary<int> Seed() => Arb.From(Gen.Choose(0, int.MaxValue - 1));
}

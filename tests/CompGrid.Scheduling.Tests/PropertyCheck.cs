using FsCheck;
using FsCheck.Fluent;

namespace CompGrid.Scheduling.Tests;

/// <summary>Runs a property over random seeds with FsCheck (no FsCheck.Xunit here): a failure throws with the seed.</summary>
internal static class PropertyCheck
{
    public static void ForAllSeeds(Func<int, bool> property, int maxTest = 100) =>
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(maxTest), Prop.ForAll(Arb.From(Gen.Choose(0, int.MaxValue - 1)), property));
}

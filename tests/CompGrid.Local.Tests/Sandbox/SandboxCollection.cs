namespace CompGrid.Local.Tests.Sandbox;

/// <summary>The sandbox tests share one backend and run one at a time (they measure real processes).</summary>
[CollectionDefinition(Name)]
public sealed class SandboxCollection : ICollectionFixture<SandboxFixture>
{
    public const string Name = "Local sandbox";
}

using CompGrid.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CompGrid.Scheduling.Tests;

[Trait("Category", "Scheduling")]
public sealed class CompGridOptionsValidationTests
{
    [Theory]
    [InlineData("PollInterval")]
    [InlineData("MaxDispatchPerCycle")]
    [InlineData("DefaultWalltime")]
    [InlineData("MaxWalltime")]
    [InlineData("DefaultMemoryMiBPerCpu")]
    [InlineData("PlacementPolicy")]
    [InlineData("QueueOrdering")]
    [InlineData("DefaultBackend")]
    [InlineData("PriorityRecalculationInterval")]
    public void InvalidSetting_FailsWithItsName(string setting)
    {
        var services = new ServiceCollection();
        services.AddCompGrid(o => Break(o, setting)).AddBackend(new InMemoryBackend()).UseJobStore(new InMemoryJobStore());
        using var provider = services.BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<CompGridOptions>>().Value);
        Assert.Contains("CompGrid:" + setting, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DefaultWalltimeLongerThanMax_IsRefused()
    {
        var services = new ServiceCollection();
        services.AddCompGrid(o => { o.MaxWalltime = TimeSpan.FromHours(2); o.DefaultWalltime = TimeSpan.FromHours(3); });
        using var provider = services.BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<CompGridOptions>>().Value);
        Assert.Contains("must not be longer than CompGrid:MaxWalltime", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Defaults_AreValid()
    {
        var services = new ServiceCollection();
        services.AddCompGrid();
        using var provider = services.BuildServiceProvider();
        Assert.Equal(TimeSpan.FromSeconds(1), provider.GetRequiredService<IOptions<CompGridOptions>>().Value.PollInterval);
    }

    [Fact]
    public void NonDiFactory_AppliesTheSameValidator()
    {
        var ex = Assert.Throws<OptionsValidationException>(() => CompGridEngine.Create(b => b.AddBackend(new InMemoryBackend())
            .UseJobStore(new InMemoryJobStore()).Configure(o => o.PollInterval = TimeSpan.Zero)));
        Assert.Contains("CompGrid:PollInterval must be positive", ex.Message, StringComparison.Ordinal);
    }

    private static void Break(CompGridOptions o, string setting)
    {
        switch (setting)
        {
            case "PollInterval": o.PollInterval = TimeSpan.Zero; break;
            case "MaxDispatchPerCycle": o.MaxDispatchPerCycle = 0; break;
            case "DefaultWalltime": o.DefaultWalltime = TimeSpan.FromSeconds(-1); break;
            case "MaxWalltime": o.MaxWalltime = TimeSpan.MaxValue; break;
            case "DefaultMemoryMiBPerCpu": o.DefaultMemoryMiBPerCpu = 0; break;
            case "PlacementPolicy": o.PlacementPolicy = " "; break;
            case "QueueOrdering": o.QueueOrdering = ""; break;
            case "DefaultBackend": o.DefaultBackend = "  "; break;
            case "PriorityRecalculationInterval": o.PriorityRecalculationInterval = TimeSpan.Zero; break;
        }
    }
}

using Microsoft.Extensions.DependencyInjection;

namespace CompGrid;

/// <summary>
/// Returned by <c>services.AddCompGrid()</c>; each package adds its registration methods to it
/// (<c>.AddLocalBackend()</c>, <c>.UseSqliteStore(path)</c>, <c>.AddGrantBilling(…)</c>, <c>.AddSlurmBackend(…)</c>).
/// </summary>
public interface ICompGridBuilder
{
    /// <summary>The service collection being configured.</summary>
    IServiceCollection Services { get; }
}

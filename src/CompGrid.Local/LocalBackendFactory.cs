using Microsoft.Extensions.Logging;

namespace CompGrid.Local;

/// <summary>Creates local backends without DI (scripts, tests).</summary>
public static class LocalBackendFactory
{
    /// <summary>A local backend named <paramref name="name"/>. Throws <see cref="CompGridException"/> naming each invalid option.</summary>
    public static IComputeBackend Create(string name = "local", LocalBackendOptions? options = null, TimeProvider? timeProvider = null, ILogger? logger = null) =>
        new LocalBackend(name, options ?? new LocalBackendOptions(), timeProvider, logger);
}

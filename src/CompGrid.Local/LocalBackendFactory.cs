using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CompGrid.Local;

/// <summary>Creates local backends without DI. Kept for existing scripts; <see cref="LocalBackend.Create"/> is the factory to use.</summary>
public static class LocalBackendFactory
{
    /// <summary>A local backend named <paramref name="name"/>. Throws <see cref="CompGridException"/> naming each invalid option.</summary>
    public static IComputeBackend Create(string name = "local", LocalBackendOptions? options = null, TimeProvider? timeProvider = null, ILogger? logger = null) =>
        LocalBackend.Create(name, options ?? new LocalBackendOptions(), logger is null ? null : new SingleLoggerFactory(logger), timeProvider);

    private sealed class SingleLoggerFactory(ILogger logger) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) => logger;
        public void AddProvider(ILoggerProvider provider) { }
        public void Dispose() { }
    }
}

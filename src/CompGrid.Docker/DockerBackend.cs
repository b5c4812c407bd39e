using CompGrid.Docker.Jobs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CompGrid.Docker;

/// <summary>Creates Docker backends without dependency injection (for scripts and tests).</summary>
public static class DockerBackend
{
    /// <summary>
    /// Creates a Docker backend named <paramref name="name"/> over the engines in <paramref name="options"/>. The
    /// options are validated first (a <see cref="CompGridException"/> lists every problem). Dispose the result
    /// (it is <see cref="IAsyncDisposable"/>) to stop its health checks and event streams.
    /// </summary>
    public static IComputeBackend Create(string name, DockerBackendOptions options, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = DockerBackendOptionsValidator.Check(name, options);
        if (problems.Count > 0)
            throw new CompGridException($"Docker backend '{name}' is misconfigured: {string.Join("; ", problems)}") { Backend = name, Operation = "configure" };
        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("CompGrid.Docker");
        return new DockerComputeBackend(name, options, timeProvider ?? TimeProvider.System, logger);
    }
}

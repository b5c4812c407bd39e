using CompGrid.Docker.Diagnostics;
using CompGrid.Docker.Jobs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CompGrid.Docker;

/// <summary>Creates Docker backends without dependency injection (for scripts and tests).</summary>
public static class DockerBackend
{
    /// <summary>
    /// Creates a Docker backend named <paramref name="name"/> over the engines in <paramref name="options"/>. The
    /// options are checked by the same validator dependency injection uses (a <see cref="CompGridException"/> lists
    /// every problem). Dispose the result (it is <see cref="IAsyncDisposable"/>) to stop its health checks and event
    /// streams.
    /// </summary>
    /// <param name="name">The backend name jobs are routed by.</param>
    /// <param name="options">The engines of the pool and the job defaults.</param>
    /// <param name="loggerFactory">Where logs go (category <c>CompGrid.Docker</c>), or null for none.</param>
    /// <param name="timeProvider">The clock of timeouts, walltimes and health checks, or null for the system clock.</param>
    /// <example>
    /// <code>
    /// await using var lab = (IAsyncDisposable)DockerBackend.Create("lab", new DockerBackendOptions
    /// {
    ///     DefaultImage = "compgrid/busybox:test",
    ///     Engines = [new DockerEngineOptions { Name = "lab-a", Endpoint = "unix:///var/run/docker.sock" }],
    /// });
    /// </code>
    /// </example>
    public static IComputeBackend Create(string name, DockerBackendOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(options);
        var result = new DockerBackendOptionsValidator(name).Validate(name, options);
        if (result.Failed)
            throw new CompGridException($"Docker backend '{name}' is misconfigured: {string.Join("; ", result.Failures)}") { Backend = name, Operation = "configure" };
        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger(Log.Category);
        return new DockerComputeBackend(name, options, timeProvider ?? TimeProvider.System, logger);
    }
}

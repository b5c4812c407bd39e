using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CompGrid.EmbeddedPortal.Backends;

/// <summary>
/// Creates the teaching process backend without dependency injection. It runs <see cref="JobPayload.Exec"/> payloads
/// as child processes of the portal (argument lists, no shell), enforces the walltime and captures the output.
/// </summary>
/// <remarks>
/// A teaching example, not a production backend: jobs run as the portal's own account with no sandbox, no cgroups and
/// no memory or CPU limits; its jobs live in the portal's memory, so a restart loses them (the engine then marks them
/// lost); a cancelled or timed-out job is killed at once (SIGKILL to its process tree), without a grace period.
/// </remarks>
/// <example>
/// <code>
/// var backend = ProcessBackend.Create("proc", new ProcessBackendOptions { WorkDirectory = "/var/lib/portal/work" });
/// </code>
/// </example>
public static class ProcessBackend
{
    /// <summary>Creates a process backend; the result is also <see cref="IDisposable"/> (disposing kills its running jobs).</summary>
    /// <param name="name">The backend name jobs are routed by.</param>
    /// <param name="options">The options; validated here by the same validator DI uses.</param>
    /// <param name="loggerFactory">Logging, or null for none.</param>
    /// <param name="timeProvider">The clock of walltime limits and timestamps, or null for <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="CompGridException">The options are invalid; the message names each option and rule.</exception>
    public static IComputeBackend Create(string name, ProcessBackendOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(options);
        var errors = ProcessBackendOptionsValidator.Errors(name, options);
        if (errors.Count > 0) throw new CompGridException(string.Join(" ", errors)) { Backend = name, Operation = "configure", Code = CompGridErrorCodes.Invalid };
        return CreateValidated(name, options, loggerFactory, timeProvider);
    }

    internal static IComputeBackend CreateValidated(string name, ProcessBackendOptions options, ILoggerFactory? loggerFactory, TimeProvider? timeProvider) =>
        new ProcessComputeBackend(name, options, timeProvider ?? TimeProvider.System,
            (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("CompGrid.EmbeddedPortal.Backends"));
}

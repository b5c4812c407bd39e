using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CompGrid.Local;

/// <summary>Creates local backends without dependency injection (scripts, tests, custom hosts).</summary>
/// <example>
/// <code>
/// var backend = LocalBackend.Create("local", new LocalBackendOptions { StateDirectory = "/var/lib/compgrid/local", RunAsUser = "compgrid-jobs" });
/// </code>
/// </example>
public static class LocalBackend
{
    /// <summary>
    /// Creates a local backend. When the host runs as root, jobs run as <see cref="LocalBackendOptions.RunAsUser"/>
    /// (default <c>nobody</c>) or the owner's mapped account, each in cgroups of its own where the machine allows.
    /// The result is also <see cref="IDisposable"/>.
    /// </summary>
    /// <param name="name">The backend name jobs are routed by (<see cref="JobConstraints.Backend"/>).</param>
    /// <param name="options">The options; validated here by the same validator DI uses.</param>
    /// <param name="loggerFactory">Logging, or null for none.</param>
    /// <param name="timeProvider">The clock (walltime, kill grace, sampling), or null for <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="CompGridException">The options are invalid; the message names each option and rule.</exception>
    public static IComputeBackend Create(string name, LocalBackendOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(options);
        var errors = LocalBackendOptionsValidator.Errors(name, options);
        if (errors.Count > 0) throw new CompGridException(string.Join(" ", errors)) { Backend = name, Operation = "configure" };
        return CreateValidated(name, options, loggerFactory, timeProvider);
    }

    internal static IComputeBackend CreateValidated(string name, LocalBackendOptions options, ILoggerFactory? loggerFactory, TimeProvider? timeProvider)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("The local backend runs jobs on Linux (setsid, setpriv, /proc, cgroups).");
        return new LocalComputeBackend(name, options, timeProvider ?? TimeProvider.System, (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("CompGrid.Local"));
    }
}

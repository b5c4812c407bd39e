using CompGrid.Slurm.Cli;
using CompGrid.Slurm.Logs;
using CompGrid.Slurm.Resilience;
using CompGrid.Slurm.Rest;
using CompGrid.Slurm.Ssh;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CompGrid.Slurm;

/// <summary>Creates Slurm backends without dependency injection (scripts, tests, custom hosts).</summary>
public static class SlurmBackend
{
    /// <summary>
    /// Creates the backend of one Slurm cluster. The result is also <see cref="IAsyncDisposable"/> (it closes the shared SSH
    /// connection and the HTTP client).
    /// </summary>
    /// <param name="name">The backend name jobs are routed by (<see cref="JobConstraints.Backend"/>).</param>
    /// <param name="options">The cluster's options; validated here by the same validator the host uses.</param>
    /// <param name="loggerFactory">Logging, or null for none.</param>
    /// <param name="timeProvider">The clock, or null for <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentException">The options are invalid; the message lists every problem.</exception>
    /// <example><code>
    /// await using var campus = (IAsyncDisposable)SlurmBackend.Create("campus", new SlurmBackendOptions
    /// {
    ///     Transport = SlurmTransport.Ssh,
    ///     SshHost = "login.example.edu",
    ///     SshUser = "compgrid",
    ///     SshIdentityFile = "/etc/compgrid/id_ed25519",
    ///     SshKnownHostsFile = "/etc/compgrid/known_hosts",
    ///     OutputDirectory = "/shared/compgrid/jobs",
    /// });
    /// </code></example>
    public static IComputeBackend Create(string name, SlurmBackendOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var errors = SlurmBackendOptionsValidator.Errors(name, options);
        if (errors.Count > 0) throw new ArgumentException(string.Join(Environment.NewLine, errors), nameof(options));
        return CreateValidated(name, options, loggerFactory, timeProvider, httpClient: null);
    }

    internal static SlurmComputeBackend CreateValidated(string name, SlurmBackendOptions options, ILoggerFactory? loggerFactory, TimeProvider? timeProvider, HttpClient? httpClient)
    {
        var time = timeProvider ?? TimeProvider.System;
        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("CompGrid.Slurm");
        ISlurmClient client = options.Transport switch
        {
            SlurmTransport.Cli => new SlurmCliClient(new LocalCommandRunner(options, name), name, readLogsLocally: true),
            SlurmTransport.Ssh => new SlurmCliClient(CreateSshRunner(options, name, logger), name, readLogsLocally: options.LogAccess == SlurmLogAccess.Local),
            SlurmTransport.Rest => CreateRestClient(name, options, time, httpClient, logger),
            _ => throw new ArgumentException($"Unknown transport {options.Transport}.", nameof(options)),
        };
        var pipeline = SlurmResilience.Create(name, options, time, logger);
        return new SlurmComputeBackend(name, options, client, pipeline, time, logger);
    }

    private static SlurmRestClient CreateRestClient(string name, SlurmBackendOptions options, TimeProvider time, HttpClient? httpClient, ILogger logger)
    {
        bool sshLogs = options.LogAccess == SlurmLogAccess.Ssh || (options.LogAccess == SlurmLogAccess.Auto && options.SshHost is not null);
        if (sshLogs)
        {
            var ssh = new SlurmCliClient(CreateSshRunner(options, name, logger), name, readLogsLocally: false);
            return new SlurmRestClient(options, name, time, httpClient, ssh.ReadLogTailAsync, ssh);
        }
        return new SlurmRestClient(options, name, time, httpClient,
            (dir, file, max, ct) => LocalLogFile.ReadTailAsync(dir, file, max, name, ct), null);
    }

    private static ICommandRunner CreateSshRunner(SlurmBackendOptions options, string name, ILogger logger) => options.SshClient == SshClientKind.OpenSsh
        ? new OpenSshCommandRunner(options, name)
        : new SshNetCommandRunner(options, name, logger);
}

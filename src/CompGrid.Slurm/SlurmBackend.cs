using CompGrid.Slurm.Cli;
using CompGrid.Slurm.Resilience;
using CompGrid.Slurm.Rest;
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
    /// <param name="options">The cluster's options; validated here.</param>
    /// <param name="name">The backend name jobs are routed by (<see cref="JobConstraints.Backend"/>). The default is <c>slurm</c>.</param>
    /// <param name="loggerFactory">Logging, or null for none.</param>
    /// <param name="timeProvider">The clock, or null for <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentException">The options are invalid; the message lists every problem.</exception>
    public static IComputeBackend Create(SlurmBackendOptions options, string name = "slurm", ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
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
            SlurmTransport.Ssh => new SlurmCliClient(new SshCommandRunner(options, name), name, readLogsLocally: options.LogAccess == SlurmLogAccess.Local),
            SlurmTransport.Rest => CreateRestClient(name, options, time, httpClient),
            _ => throw new ArgumentException($"Unknown transport {options.Transport}.", nameof(options)),
        };
        var pipeline = SlurmResilience.Create(name, options, time, logger);
        return new SlurmComputeBackend(name, options, client, pipeline, time, logger);
    }

    private static SlurmRestClient CreateRestClient(string name, SlurmBackendOptions options, TimeProvider time, HttpClient? httpClient)
    {
        bool sshLogs = options.LogAccess == SlurmLogAccess.Ssh || (options.LogAccess == SlurmLogAccess.Auto && options.SshHost is not null);
        if (sshLogs)
        {
            var ssh = new SlurmCliClient(new SshCommandRunner(options, name), name, readLogsLocally: false);
            return new SlurmRestClient(options, name, time, httpClient, ssh.ReadFileTailAsync, ssh);
        }
        return new SlurmRestClient(options, name, time, httpClient, LocalFiles.ReadTailAsync, null);
    }
}

using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CompGrid.Client;

/// <summary>Creates portal clients without dependency injection (scripts, notebooks, PowerShell).</summary>
public static class CompGridClient
{
    /// <summary>
    /// Creates a client for the portal at <see cref="CompGridClientOptions.BaseAddress"/>. Dispose it when done (it owns its
    /// connections).
    /// </summary>
    /// <param name="options">Where the portal is and the token; validated here by the same validator DI uses.</param>
    /// <param name="loggerFactory">Logging, or null for none.</param>
    /// <param name="timeProvider">The clock for polling, retry delays and timeouts, or null for <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentException">The options are invalid; the message lists every problem.</exception>
    /// <example><code>
    /// using var grid = CompGridClient.Create(new CompGridClientOptions
    /// {
    ///     BaseAddress = new Uri("https://grid.example.edu/"),
    ///     Token = Environment.GetEnvironmentVariable("COMPGRID_TOKEN"),
    /// });
    /// var job = await grid.SubmitAsync(new JobSpec { Payload = JobPayload.Command("echo hi") });
    /// Console.Write(await job.WaitForCompletionAsync().ContinueWith(_ => job.GetLogsAsync()).Unwrap());
    /// </code></example>
    public static CompGridHttpClient Create(CompGridClientOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = CompGridClientOptionsValidator.Errors(options);
        if (errors.Count > 0) throw new ArgumentException(string.Join(Environment.NewLine, errors), nameof(options));
        var time = timeProvider ?? TimeProvider.System;
        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("CompGrid.Client");
        var handler = new ResilienceHandler(ClientResilience.Build(options, time, logger))
        {
            InnerHandler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2) },
        };
        return new CompGridHttpClient(new HttpClient(handler, disposeHandler: true), ownsHttp: true, options, time, logger);
    }
}

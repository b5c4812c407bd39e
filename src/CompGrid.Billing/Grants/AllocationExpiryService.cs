using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CompGrid.Billing;

/// <summary>
/// Expires allocations in the background (registered by <c>AddGrantBilling</c>): every
/// <see cref="GrantBillingOptions.ExpiryInterval"/> on the injected clock it calls
/// <see cref="GrantBillingService.ExpireAllocationsAsync"/>. Without a host, call that method yourself (a cron job).
/// </summary>
internal sealed partial class AllocationExpiryService(GrantBillingService billing, GrantBillingOptions options, TimeProvider time, ILogger<AllocationExpiryService>? logger = null)
    : BackgroundService
{
    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await billing.ExpireAllocationsAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogFailed(_logger, e);
            }
            try
            {
                await Task.Delay(options.ExpiryInterval, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(20, LogLevel.Warning, "Expiring allocations failed; retrying at the next interval")]
    private static partial void LogFailed(ILogger logger, Exception e);
}

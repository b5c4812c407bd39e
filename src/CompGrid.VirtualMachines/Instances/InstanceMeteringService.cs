using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CompGrid.VirtualMachines;

/// <summary>Runs <see cref="VirtualMachineInstances.MeterAsync"/> every <see cref="VirtualMachineInstancesOptions.MeteringInterval"/> on the injected clock.</summary>
internal sealed class InstanceMeteringService(VirtualMachineInstances instances, VirtualMachineInstancesOptions options, TimeProvider time, ILogger<InstanceMeteringService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.MeteringInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                await instances.MeterAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // A failed round (a store or billing outage) is retried at the next tick: nothing was saved past what was delivered.
                Diagnostics.Log.MeteringFailed(logger, ex);
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await instances.DisposeAsync().ConfigureAwait(false);
    }
}

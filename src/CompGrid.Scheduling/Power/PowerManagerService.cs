using Microsoft.Extensions.Hosting;

namespace CompGrid.Scheduling.Power;

/// <summary>Runs the power manager's passes in a host (registered by <c>AddPowerManager</c>).</summary>
internal sealed class PowerManagerService(PowerManager manager) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => manager.RunAsync(stoppingToken);
}

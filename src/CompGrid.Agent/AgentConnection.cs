using System.Text.Json;
using CompGrid.Agents.Protocol;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CompGrid.Agent;

/// <summary>
/// The agent's side of the channel: connects (again and again, with a doubling back-off), registers with the jobs
/// it still has, sends heartbeats, and runs what the portal sends. One connection at a time; a lost connection is
/// simply opened anew, and registration tells the portal everything it may have missed.
/// </summary>
internal sealed class AgentConnection(AgentOptions options, string token, JobRunner runner, UtmRunner utm, DesktopPolicy desktop, TimeProvider time, ILogger<AgentConnection> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await runner.AdoptAsync(stoppingToken).ConfigureAwait(false);
        var delay = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunOnceAsync(stoppingToken).ConfigureAwait(false);
                delay = TimeSpan.FromSeconds(1); // it was up: start the back-off again
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                Log.ConnectFailed(logger, options.PortalUrl, ex.Message, delay.TotalSeconds);
            }
            try { await Task.Delay(delay, time, stoppingToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, options.MaxReconnectDelay.Ticks));
        }
    }

    /// <summary>One connection's life: returns when it closed.</summary>
    private async Task RunOnceAsync(CancellationToken stoppingToken)
    {
        var hub = new HubConnectionBuilder()
            .WithUrl(options.PortalUrl, o =>
            {
                o.AccessTokenProvider = () => Task.FromResult<string?>(token);
                o.Transports = HttpTransportType.WebSockets;
                o.SkipNegotiation = true;
            })
            .AddJsonProtocol(o => o.PayloadSerializerOptions = new JsonSerializerOptions(CompGridJson.Options))
            .Build();
        await using var hubScope = hub.ConfigureAwait(false);
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        hub.Closed += _ => { closed.TrySetResult(); return Task.CompletedTask; };
        Task Send(string method, object argument) => hub.SendAsync(method, argument, stoppingToken);

        hub.On<AgentJobAssignment>(AgentProtocol.RunJob, async a =>
        {
            if (await runner.StartAsync(a, stoppingToken).ConfigureAwait(false) is { } failed) await Send(AgentProtocol.ReportJob, failed).ConfigureAwait(false);
        });
        hub.On<string>(AgentProtocol.CancelJob, id => runner.CancelAsync(id, stoppingToken));
        hub.On<string>(AgentProtocol.CleanupJob, id => runner.CleanupAsync(id, stoppingToken));
        // utmctl waits for UTM's GUI: answer on the side, so heartbeats and job messages are not held up behind it.
        hub.On<UtmRequest>(AgentProtocol.RunUtm, r =>
        {
            _ = Task.Run(async () =>
            {
                try { await Send(AgentProtocol.UtmResult, await utm.RunAsync(r, stoppingToken).ConfigureAwait(false)).ConfigureAwait(false); }
                catch (Exception ex) when (ex is not OperationCanceledException) { Log.UtmAnswerLost(logger, r.RequestId, ex.Message); } // the portal's request times out
            }, stoppingToken);
            return Task.CompletedTask;
        });

        await hub.StartAsync(stoppingToken).ConfigureAwait(false);
        var registration = MachineInfo.Discover(options) with { Jobs = await runner.CurrentAsync(stoppingToken).ConfigureAwait(false), Utm = utm.Enabled, Accepting = desktop.Accepting };
        var welcome = await hub.InvokeAsync<AgentWelcome>(AgentProtocol.Register, registration, stoppingToken).ConfigureAwait(false);
        Log.Registered(logger, options.PortalUrl, welcome.Machine, registration.Cpus, registration.MemoryMiB);

        var heartbeatEvery = welcome.HeartbeatInterval > TimeSpan.Zero ? welcome.HeartbeatInterval : TimeSpan.FromSeconds(5);
        long lastHeartbeat = 0;
        using var timer = new PeriodicTimer(options.PollInterval, time);
        while (!closed.Task.IsCompleted && !stoppingToken.IsCancellationRequested)
        {
            bool accepting = desktop.Accepting;
            await desktop.ApplyAsync(runner, stoppingToken).ConfigureAwait(false);
            await runner.PollAsync(Send, stoppingToken).ConfigureAwait(false);
            if (time.GetElapsedTime(lastHeartbeat) >= heartbeatEvery || accepting != desktop.Accepting) // the portal hears of a change at once
            {
                await Send(AgentProtocol.Heartbeat, new AgentHeartbeat { RunningJobs = runner.Running, Accepting = desktop.Accepting }).ConfigureAwait(false);
                lastHeartbeat = time.GetTimestamp();
            }
            var tick = timer.WaitForNextTickAsync(stoppingToken).AsTask();
            await Task.WhenAny(tick, closed.Task).ConfigureAwait(false);
        }
        Log.Disconnected(logger, options.PortalUrl);
    }
}

using System.Security.Claims;
using CompGrid.Agents.Protocol;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Logging;

namespace CompGrid.Agents;

/// <summary>
/// The portal's end of the agent channel. Every connection is authenticated by its machine token
/// (<see cref="AgentTokenAuthenticationHandler"/>); the machine is the token's, whatever the messages say.
/// </summary>
[Authorize(AuthenticationSchemes = AgentProtocol.AuthenticationScheme)]
internal sealed class AgentHub(AgentRegistry registry, AgentUtmControl utm, ILogger<AgentHub> logger) : Hub
{
    private string Machine => Context.User?.FindFirstValue(ClaimTypes.Name)
        ?? throw new HubException("The connection has no machine identity.");

    public async Task<AgentWelcome> Register(AgentRegistration registration)
    {
        ArgumentNullException.ThrowIfNull(registration);
        AgentWelcome welcome;
        IReadOnlyList<string> stale;
        try { (welcome, stale) = registry.Register(Machine, Context.ConnectionId, registration); }
        catch (CompGridException ex) { throw new HubException(ex.Message); }
        // Jobs the portal ended while the agent was away (or never gave it) must not go on running.
        foreach (string jobId in stale)
        {
            await Clients.Caller.SendAsync(AgentProtocol.CancelJob, jobId).ConfigureAwait(false);
            await Clients.Caller.SendAsync(AgentProtocol.CleanupJob, jobId).ConfigureAwait(false);
        }
        return welcome;
    }

    public void Heartbeat(AgentHeartbeat heartbeat) => registry.Heartbeat(Machine, Context.ConnectionId, heartbeat);

    public void ReportJob(AgentJobReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (!registry.Report(Machine, report)) Log.ForeignReport(logger, Machine, report.JobId);
    }

    public void AppendLog(AgentLogChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        registry.AppendLog(Machine, chunk);
    }

    public void UtmResult(UtmResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (!utm.Complete(Machine, response)) Log.ForeignUtmAnswer(logger, Machine, response.RequestId);
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        registry.Disconnected(Machine, Context.ConnectionId);
        return base.OnDisconnectedAsync(exception);
    }
}

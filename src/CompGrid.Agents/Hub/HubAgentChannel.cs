using Microsoft.AspNetCore.SignalR;

namespace CompGrid.Agents;

internal sealed class HubAgentChannel(IHubContext<AgentHub> hub) : IAgentChannel
{
    public Task SendAsync(string connectionId, string method, object argument, CancellationToken cancellationToken) =>
        hub.Clients.Client(connectionId).SendAsync(method, argument, cancellationToken);
}

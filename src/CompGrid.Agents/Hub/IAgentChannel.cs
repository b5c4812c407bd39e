namespace CompGrid.Agents;

/// <summary>Sends a message to one connected agent. The hub context in production; a recording fake in unit tests.</summary>
internal interface IAgentChannel
{
    Task SendAsync(string connectionId, string method, object argument, CancellationToken cancellationToken);
}

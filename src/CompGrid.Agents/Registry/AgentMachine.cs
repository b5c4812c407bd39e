using CompGrid.Agents.Protocol;

namespace CompGrid.Agents;

/// <summary>One machine allowed to connect, and what the portal knows of it now.</summary>
internal sealed class AgentMachine(string name, AgentMachineOptions options)
{
    public string Name { get; } = name;
    public AgentMachineOptions Options { get; } = options;
    public string? ConnectionId { get; set; }
    public AgentRegistration? Registration { get; set; }
    public DateTimeOffset LastSeen { get; set; }
    public bool TimedOut { get; set; }

    /// <summary>The agent said it takes no new work (its desktop policy): the node drains.</summary>
    public bool OwnerActive { get; set; }

    public bool IsUp => ConnectionId is not null && Registration is not null && !TimedOut;

    /// <summary>What the machine offers: what the agent reports, capped by the portal's configuration.</summary>
    public NodeResources Capacity => Registration is not { } r ? default : new(
        Math.Max(0, Options.MaxCpus is { } c ? Math.Min(c, r.Cpus) : r.Cpus),
        Math.Max(0, Options.MaxMemoryMiB is { } m ? Math.Min(m, r.MemoryMiB) : r.MemoryMiB),
        Math.Max(0, r.Gpus));
}

namespace CompGrid.Agents.Protocol;

/// <summary>The <c>utmctl</c> sub-commands the portal may ask an agent to run; nothing else can be sent.</summary>
public enum UtmCommand
{
    /// <summary><c>utmctl list</c>: every registered VM with its UUID and status.</summary>
    List,

    /// <summary><c>utmctl status -- VM</c>.</summary>
    Status,

    /// <summary><c>utmctl start -- VM</c>: starts a VM, or resumes a suspended one.</summary>
    Start,

    /// <summary><c>utmctl suspend -- VM</c>: suspends a running VM to memory.</summary>
    Suspend,

    /// <summary><c>utmctl stop --request -- VM</c>: asks the guest to power down.</summary>
    RequestStop,

    /// <summary><c>utmctl stop --force -- VM</c>: powers the VM off.</summary>
    Stop,

    /// <summary><c>utmctl ip-address -- VM</c>: the guest's addresses, IPv4 first.</summary>
    IpAddress,
}

/// <summary>A VM's status as <c>utmctl</c> prints it.</summary>
public enum UtmVmStatus
{
    /// <summary>A status this version does not know (<c>unknown</c>, or a newer UTM's word).</summary>
    Unknown,

    /// <summary><c>stopped</c>.</summary>
    Stopped,

    /// <summary><c>starting</c>.</summary>
    Starting,

    /// <summary><c>started</c>: running.</summary>
    Started,

    /// <summary><c>pausing</c>.</summary>
    Pausing,

    /// <summary><c>paused</c>: suspended to memory.</summary>
    Paused,

    /// <summary><c>resuming</c>.</summary>
    Resuming,

    /// <summary><c>stopping</c>.</summary>
    Stopping,
}

/// <summary>One VM as <c>utmctl list</c> shows it.</summary>
public sealed record UtmVirtualMachine
{
    /// <summary>The VM's UUID.</summary>
    public string Id { get; init; } = "";

    /// <summary>The VM's name in UTM (may contain spaces).</summary>
    public string Name { get; init; } = "";

    /// <summary>Its status.</summary>
    public UtmVmStatus Status { get; init; }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} ({Id}): {Status}";
}

/// <summary>Portal → agent: run one <c>utmctl</c> command.</summary>
public sealed record UtmRequest
{
    /// <summary>Correlates the agent's <see cref="UtmResponse"/> with this request.</summary>
    public string RequestId { get; init; } = "";

    /// <summary>The command.</summary>
    public UtmCommand Command { get; init; }

    /// <summary>The VM's name or UUID; empty for <see cref="UtmCommand.List"/>.</summary>
    public string Vm { get; init; } = "";
}

/// <summary>Agent → portal: what <c>utmctl</c> answered, parsed on the agent.</summary>
public sealed record UtmResponse
{
    /// <summary>The <see cref="UtmRequest.RequestId"/> this answers.</summary>
    public string RequestId { get; init; } = "";

    /// <summary>Why the command failed (utmctl's error, a refused VM name, utmctl not enabled); null when it succeeded.</summary>
    public string? Error { get; init; }

    /// <summary>For <see cref="UtmCommand.List"/>: the VMs.</summary>
    public IReadOnlyList<UtmVirtualMachine> Vms { get; init; } = [];

    /// <summary>For <see cref="UtmCommand.Status"/>: the status.</summary>
    public UtmVmStatus? Status { get; init; }

    /// <summary>For <see cref="UtmCommand.IpAddress"/>: the addresses, as utmctl printed them.</summary>
    public IReadOnlyList<string> Addresses { get; init; } = [];
}

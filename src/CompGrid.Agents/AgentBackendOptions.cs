namespace CompGrid.Agents;

/// <summary>Options of the agent backend. Bind from a configuration section such as <c>CompGrid:Agents</c>.</summary>
public sealed class AgentBackendOptions
{
    /// <summary>
    /// The machines allowed to connect, by node name, each with the SHA-256 of its token (hex). The token decides the
    /// machine: an agent cannot register as another machine. Generate one with <c>openssl rand -hex 32</c> and store
    /// only <c>sha256sum</c> of it here.
    /// </summary>
    /// <value>The default is empty: no machine may connect.</value>
    public IDictionary<string, AgentMachineOptions> Machines { get; set; } = new Dictionary<string, AgentMachineOptions>(StringComparer.Ordinal);

    /// <summary>How often agents send a heartbeat.</summary>
    /// <value>The default is 5 seconds.</value>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>After how long without a heartbeat a machine is Down and its jobs end as NodeFailed.</summary>
    /// <value>The default is 20 seconds.</value>
    public TimeSpan HeartbeatTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// After the portal starts, how long it waits for an agent to reconnect before the jobs it had are treated as lost
    /// (until then their status is a transient error, so the engine keeps them).
    /// </summary>
    /// <value>The default is 60 seconds.</value>
    public TimeSpan ReconnectGracePeriod { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The most output kept per job and stream, in bytes (the newest output wins).</summary>
    /// <value>The default is 4 MiB.</value>
    public int MaxLogBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>How many ended jobs keep their status and output in the portal's memory after they were settled (the oldest go first).</summary>
    /// <value>The default is 10,000.</value>
    public int RetainedJobs { get; set; } = 10_000;

    /// <summary>Partitions every agent node belongs to.</summary>
    /// <value>The default is <c>agents</c>.</value>
    public IList<string> Partitions { get; set; } = ["agents"];

    /// <summary>How long the portal waits for an agent's answer to a <c>utmctl</c> command (longer than the agent's own limit, 60 s by default).</summary>
    /// <value>The default is 90 seconds.</value>
    public TimeSpan UtmCommandTimeout { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>
    /// UTM VMs that are nodes of this backend, by node name. Each node is also a machine in <see cref="Machines"/> (the
    /// agent inside the VM has its own token); <see cref="UtmVirtualMachineOptions.Host"/> is the Mac whose agent runs
    /// <c>utmctl</c>. The power manager starts them for queued work and stops them when idle.
    /// </summary>
    /// <value>The default is empty.</value>
    public IDictionary<string, UtmVirtualMachineOptions> UtmVirtualMachines { get; set; } = new Dictionary<string, UtmVirtualMachineOptions>(StringComparer.Ordinal);
}

/// <summary>A UTM VM on a Mac that runs the CompGrid agent with <c>Agent:Utm:Enabled</c>.</summary>
public sealed class UtmVirtualMachineOptions
{
    /// <summary>The machine (in <see cref="AgentBackendOptions.Machines"/>) whose agent runs utmctl for this VM: the Mac.</summary>
    /// <value>The default is empty (invalid).</value>
    public string Host { get; set; } = "";

    /// <summary>The VM's name or UUID in UTM.</summary>
    /// <value>The default is empty (invalid).</value>
    public string Vm { get; set; } = "";

    /// <summary>How long after <c>utmctl start</c> the VM's own agent has to register before the start counts as failed.</summary>
    /// <value>The default is 5 minutes.</value>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long the guest has to shut down after <c>utmctl stop --request</c> before it is powered off (<c>--force</c>).</summary>
    /// <value>The default is 60 seconds.</value>
    public TimeSpan StopGracePeriod { get; set; } = TimeSpan.FromSeconds(60);
}

/// <summary>One machine allowed to run the agent.</summary>
public sealed class AgentMachineOptions
{
    /// <summary>The SHA-256 of the machine's token, as 64 hex digits.</summary>
    /// <value>The default is empty (invalid).</value>
    public string TokenSha256 { get; set; } = "";

    /// <summary>Features added to what the agent reports (for example the lab's name).</summary>
    /// <value>The default is none.</value>
    public IList<string> Features { get; set; } = [];

    /// <summary>The most CPUs used from this machine, whatever the agent reports; null for what it reports.</summary>
    /// <value>The default is null.</value>
    public int? MaxCpus { get; set; }

    /// <summary>The most memory used from this machine in MiB, whatever the agent reports; null for what it reports.</summary>
    /// <value>The default is null.</value>
    public long? MaxMemoryMiB { get; set; }
}

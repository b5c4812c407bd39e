namespace CompGrid.Agents.Protocol;

/// <summary>
/// The names of the agent channel's methods. The agent calls the hub methods; the portal calls the agent methods.
/// Both sides use <see cref="CompGridJson.Options"/> for the payloads.
/// </summary>
public static class AgentProtocol
{
    /// <summary>The protocol version; the portal refuses a registration with a different major version.</summary>
    public const int Version = 1;

    /// <summary>The default path the portal maps the agent hub at.</summary>
    public const string DefaultPath = "/agents/hub";

    /// <summary>The authentication scheme of agent connections (a per-machine bearer token).</summary>
    public const string AuthenticationScheme = "CompGridAgent";

    /// <summary>Agent → portal: <see cref="AgentRegistration"/>; answers <see cref="AgentWelcome"/>.</summary>
    public const string Register = "Register";

    /// <summary>Agent → portal: <see cref="AgentHeartbeat"/>.</summary>
    public const string Heartbeat = "Heartbeat";

    /// <summary>Agent → portal: <see cref="AgentJobReport"/>, on every state change of a job it runs.</summary>
    public const string ReportJob = "ReportJob";

    /// <summary>Agent → portal: <see cref="AgentLogChunk"/>, output of a running job.</summary>
    public const string AppendLog = "AppendLog";

    /// <summary>Portal → agent: <see cref="AgentJobAssignment"/>.</summary>
    public const string RunJob = "RunJob";

    /// <summary>Portal → agent: a job id to cancel.</summary>
    public const string CancelJob = "CancelJob";

    /// <summary>Portal → agent: a job id whose files the agent removes (the job ended and its usage was recorded).</summary>
    public const string CleanupJob = "CleanupJob";

    /// <summary>Portal → agent: <see cref="UtmRequest"/>, one <c>utmctl</c> command; the agent answers with <see cref="UtmResult"/>.</summary>
    public const string RunUtm = "RunUtm";

    /// <summary>Agent → portal: <see cref="UtmResponse"/>, the outcome of a <see cref="RunUtm"/> request with the same id.</summary>
    public const string UtmResult = "UtmResult";
}

/// <summary>What an agent tells the portal about its machine when it connects. Informational: the machine's name
/// comes from its token, never from this message.</summary>
public sealed record AgentRegistration
{
    /// <summary>The protocol version the agent speaks (<see cref="AgentProtocol.Version"/>).</summary>
    public int ProtocolVersion { get; init; } = AgentProtocol.Version;

    /// <summary>The machine's host name.</summary>
    public string Hostname { get; init; } = "";

    /// <summary>CPUs the agent offers to jobs.</summary>
    public int Cpus { get; init; }

    /// <summary>Memory the agent offers to jobs, in MiB.</summary>
    public long MemoryMiB { get; init; }

    /// <summary>GPUs the agent offers to jobs.</summary>
    public int Gpus { get; init; }

    /// <summary>The GPU model, when there are GPUs.</summary>
    public string? GpuModel { get; init; }

    /// <summary>Features jobs may require (for example <c>lab</c>, <c>avx512</c>).</summary>
    public IReadOnlyList<string> Features { get; init; } = [];

    /// <summary>The operating system, for example <c>Linux 6.1 (Debian 12)</c>.</summary>
    public string Os { get; init; } = "";

    /// <summary>The agent's version.</summary>
    public string AgentVersion { get; init; } = "";

    /// <summary>Whether the agent runs <c>utmctl</c> for the portal (enabled in its options, on a Mac with UTM).</summary>
    public bool Utm { get; init; }

    /// <summary>False while the machine takes no new work (see <see cref="AgentHeartbeat.Accepting"/>).</summary>
    public bool Accepting { get; init; } = true;

    /// <summary>The jobs the agent still has (running, or ended and not yet cleaned up), so a restarted portal adopts them.</summary>
    public IReadOnlyList<AgentJobReport> Jobs { get; init; } = [];
}

/// <summary>The portal's answer to a registration.</summary>
public sealed record AgentWelcome
{
    /// <summary>The machine (node) name the portal knows this agent by.</summary>
    public string Machine { get; init; } = "";

    /// <summary>How often the agent sends a heartbeat.</summary>
    public TimeSpan HeartbeatInterval { get; init; }
}

/// <summary>A heartbeat: the agent is alive, and these jobs are still running.</summary>
public sealed record AgentHeartbeat
{
    /// <summary>The ids of the jobs running on the machine.</summary>
    public IReadOnlyList<string> RunningJobs { get; init; } = [];

    /// <summary>False while the machine takes no new work (its desktop policy: the user is at the console); the node then drains.</summary>
    public bool Accepting { get; init; } = true;
}

/// <summary>A job the portal asks an agent to run.</summary>
public sealed record AgentJobAssignment
{
    /// <summary>The CompGrid job id.</summary>
    public required string JobId { get; init; }

    /// <summary>The job's specification, validated by the engine.</summary>
    public required JobSpec Spec { get; init; }

    /// <summary>Memory for the job after defaults, in MiB.</summary>
    public long MemoryMiB { get; init; }

    /// <summary>The walltime the agent's sandbox enforces.</summary>
    public TimeSpan Walltime { get; init; }
}

/// <summary>A job's state as the agent sees it.</summary>
public sealed record AgentJobReport
{
    /// <summary>The CompGrid job id.</summary>
    public string JobId { get; init; } = "";

    /// <summary>The state.</summary>
    public JobState State { get; init; }

    /// <summary>The exit code, once ended by an exit.</summary>
    public int? ExitCode { get; init; }

    /// <summary>The signal that ended the job, when known.</summary>
    public int? Signal { get; init; }

    /// <summary>Why it failed, when it did.</summary>
    public string? Reason { get; init; }

    /// <summary>CPU time the sandbox measured, once ended.</summary>
    public TimeSpan? CpuTime { get; init; }

    /// <summary>Peak memory the sandbox measured, once ended.</summary>
    public long? PeakMemoryBytes { get; init; }

    /// <summary>The CPUs the job was given (so a restarted portal counts them against the machine).</summary>
    public int Cpus { get; init; }

    /// <summary>The memory the job was given, in MiB.</summary>
    public long MemoryMiB { get; init; }

    /// <summary>The GPUs the job was given.</summary>
    public int Gpus { get; init; }
}

/// <summary>A piece of a running job's output.</summary>
public sealed record AgentLogChunk
{
    /// <summary>The CompGrid job id.</summary>
    public string JobId { get; init; } = "";

    /// <summary>True for standard error, false for standard output.</summary>
    public bool Stderr { get; init; }

    /// <summary>The text, in order after the previous chunk of the same stream.</summary>
    public string Text { get; init; } = "";
}

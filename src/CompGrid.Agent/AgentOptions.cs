namespace CompGrid.Agent;

/// <summary>The agent's settings: section <c>Agent</c> of <c>appsettings.json</c>, <c>COMPGRID_AGENT__*</c> variables or <c>--Agent:*</c> arguments.</summary>
internal sealed class AgentOptions
{
    /// <summary>The portal's agent channel, for example <c>https://portal.example.edu/agents/hub</c>.</summary>
    public string PortalUrl { get; set; } = "";

    /// <summary>A file holding this machine's token (readable by the agent's user only). Never pass the token itself as an argument: it would show in <c>ps</c>.</summary>
    public string TokenFile { get; set; } = "";

    /// <summary>Where job workspaces live; every file of a job is removed after it ended. The default is <c>/var/lib/compgrid-agent</c>.</summary>
    public string WorkDirectory { get; set; } = "/var/lib/compgrid-agent";

    /// <summary>CPUs offered to jobs. The default is every CPU of the machine.</summary>
    public int? Cpus { get; set; }

    /// <summary>Memory offered to jobs in MiB. The default is the machine's memory less 10 % for the system.</summary>
    public long? MemoryMiB { get; set; }

    /// <summary>GPUs offered to jobs. The default is 0.</summary>
    public int Gpus { get; set; }

    /// <summary>The GPU model, when there are GPUs.</summary>
    public string? GpuModel { get; set; }

    /// <summary>Features this machine offers (for example <c>lab</c>, <c>avx2</c>). The default is none.</summary>
    public IList<string> Features { get; set; } = [];

    /// <summary>The account jobs run as when the agent runs as root. The default is <c>nobody</c> (the Local sandbox's default).</summary>
    public string? RunAsUser { get; set; }

    /// <summary>How often the agent checks its jobs and sends their new output. The default is 1 second.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between reconnect attempts (the wait doubles from 1 second up to this). The default is 30 seconds.</summary>
    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>UTM control through <c>utmctl</c> (section <c>Agent:Utm</c>). The default is disabled.</summary>
    public UtmOptions Utm { get; set; } = new();

    /// <summary>The desktop policy (section <c>Agent:Desktop</c>): run only while the console is idle. The default is disabled.</summary>
    public DesktopPolicyOptions Desktop { get; set; } = new();

    internal List<string> Errors()
    {
        var errors = new List<string>();
        if (!Uri.TryCreate(PortalUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            errors.Add($"Agent:PortalUrl must be an absolute http(s) URL of the portal's agent channel (got '{PortalUrl}').");
        if (string.IsNullOrWhiteSpace(TokenFile)) errors.Add("Agent:TokenFile must name the file holding this machine's token.");
        if (string.IsNullOrWhiteSpace(WorkDirectory) || !Path.IsPathRooted(WorkDirectory)) errors.Add("Agent:WorkDirectory must be an absolute path.");
        if (Cpus is <= 0) errors.Add("Agent:Cpus must be positive when set.");
        if (MemoryMiB is <= 0) errors.Add("Agent:MemoryMiB must be positive when set.");
        if (Gpus < 0) errors.Add("Agent:Gpus must not be negative.");
        if (PollInterval <= TimeSpan.Zero) errors.Add("Agent:PollInterval must be positive.");
        if (MaxReconnectDelay < TimeSpan.FromSeconds(1)) errors.Add("Agent:MaxReconnectDelay must be at least 1 second.");
        errors.AddRange(Utm.Errors());
        errors.AddRange(Desktop.Errors());
        return errors;
    }
}

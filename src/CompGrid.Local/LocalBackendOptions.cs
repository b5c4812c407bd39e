namespace CompGrid.Local;

/// <summary>One logical node of the local backend.</summary>
public sealed class LocalNodeOptions
{
    /// <summary>The node name. Required.</summary>
    public string Name { get; set; } = "";

    /// <summary>CPU slots. The default is the machine's processor count.</summary>
    public int Cpus { get; set; } = Environment.ProcessorCount;

    /// <summary>Memory in MiB. The default is the memory available to this process.</summary>
    public long MemoryMiB { get; set; } = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024 * 1024);

    /// <summary>Node features.</summary>
    public IList<string> Features { get; set; } = [];

    /// <summary>Partitions the node belongs to. The default is <c>local</c>.</summary>
    public IList<string> Partitions { get; set; } = ["local"];
}

/// <summary>Options of the local backend. Bind from configuration (for example <c>CompGrid:Local</c>); validated at start-up.</summary>
public sealed class LocalBackendOptions
{
    /// <summary>
    /// Where per-job directories (logs, markers, working directories) live. The default is
    /// <c>$TMPDIR/compgrid-local</c>. Keep it on local disk; a restart of the engine finds running jobs here.
    /// </summary>
    public string StateDirectory { get; set; } = Path.Combine(Path.GetTempPath(), "compgrid-local");

    /// <summary>Where outputs are staged for jobs that set no <see cref="JobSpec.OutputDirectory"/>. The default is <c>StateDirectory/outputs/&lt;job id&gt;</c>.</summary>
    public string? OutputDirectory { get; set; }

    /// <summary>The logical nodes. The default is one node named <c>local</c> with the machine's CPUs and memory.</summary>
    public IList<LocalNodeOptions> Nodes { get; set; } = [];

    /// <summary>The shell for command-line payloads. The default is <c>/bin/sh</c>.</summary>
    public string Shell { get; set; } = "/bin/sh";

    /// <summary>How long a cancelled or timed-out job gets between SIGTERM and SIGKILL. The default is 2 seconds.</summary>
    public TimeSpan KillGracePeriod { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often running jobs' memory and CPU are sampled. The default is 500 ms.</summary>
    public TimeSpan SampleInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The most bytes of each log returned by <c>GetLogsAsync</c> (the tail is kept). The default is 4 MiB.</summary>
    public int MaxLogBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Environment variables passed from the host to every job (the rest of the host's environment is not). The default is PATH, HOME, USER, LOGNAME, LANG, TZ and TMPDIR.</summary>
    public IList<string> InheritedEnvironment { get; set; } = ["PATH", "HOME", "USER", "LOGNAME", "LANG", "TZ", "TMPDIR"];

    /// <summary>Checks the options; returns the problems, each naming the option.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(StateDirectory)) errors.Add("StateDirectory is required.");
        if (!File.Exists(Shell)) errors.Add($"Shell '{Shell}' does not exist.");
        if (KillGracePeriod < TimeSpan.Zero) errors.Add("KillGracePeriod must not be negative.");
        if (SampleInterval <= TimeSpan.Zero) errors.Add("SampleInterval must be positive.");
        foreach (var (n, i) in Nodes.Select((n, i) => (n, i)))
        {
            if (string.IsNullOrWhiteSpace(n.Name)) errors.Add($"Nodes[{i}].Name is required.");
            if (n.Cpus < 1) errors.Add($"Nodes[{i}].Cpus must be at least 1.");
            if (n.MemoryMiB < 1) errors.Add($"Nodes[{i}].MemoryMiB must be at least 1.");
        }
        var dup = Nodes.GroupBy(n => n.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) errors.Add($"Nodes: the name '{dup.Key}' is used twice.");
        return errors;
    }
}

namespace CompGrid;

/// <summary>
/// The resources a job asks for. CPUs, memory and GPUs are <b>per node</b>; <see cref="Nodes"/> nodes are
/// allocated together (all or nothing).
/// </summary>
public sealed record ResourceRequest
{
    /// <summary>CPU cores per node. The default is 1.</summary>
    public int Cpus { get; init; } = 1;

    /// <summary>Memory per node in MiB; 0 means the engine's default per CPU. The default is 0.</summary>
    public long MemoryMiB { get; init; }

    /// <summary>GPUs per node. The default is 0.</summary>
    public int Gpus { get; init; }

    /// <summary>A required GPU model (for example <c>a100</c>), or null for any model.</summary>
    public string? GpuModel { get; init; }

    /// <summary>Number of nodes. The default is 1.</summary>
    public int Nodes { get; init; } = 1;

    /// <summary>Total CPUs across all nodes. Checked: validation bounds the product, and a wrapped total would turn into a negative quote.</summary>
    public int TotalCpus => checked(Cpus * Nodes);

    /// <summary>Total GPUs across all nodes (checked, like <see cref="TotalCpus"/>).</summary>
    public int TotalGpus => checked(Gpus * Nodes);

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Nodes}x(cpu={Cpus}, mem={MemoryMiB}MiB{(Gpus > 0 ? $", gpu={(GpuModel is null ? "" : GpuModel + ":")}{Gpus}" : "")})";
}

/// <summary>Where a job may run.</summary>
public sealed record JobConstraints
{
    /// <summary>The backend to run on (its registered name), or null to let the engine route.</summary>
    public string? Backend { get; init; }

    /// <summary>The partition (Slurm partition, node pool), or null for the default.</summary>
    public string? Partition { get; init; }

    /// <summary>Node features every chosen node must have.</summary>
    public IReadOnlyList<string> RequiredFeatures { get; init; } = [];

    /// <summary>Node features no chosen node may have.</summary>
    public IReadOnlyList<string> ForbiddenFeatures { get; init; } = [];

    /// <summary>Whether the job needs its nodes to itself. The default is <see langword="false"/>.</summary>
    public bool Exclusive { get; init; }
}

/// <summary>A file or directory copied into the job before it starts, or out of it after it ends.</summary>
public sealed record StagingItem
{
    /// <summary>For inputs: a path on the submitting side. For outputs: a path relative to the job's working directory.</summary>
    public required string Source { get; init; }

    /// <summary>For inputs: a path relative to the job's working directory. For outputs: a path relative to the job's output directory.</summary>
    public required string Destination { get; init; }

    /// <summary>
    /// Whether <paramref name="path"/> is relative and stays inside its directory: not empty, not absolute, no <c>..</c>
    /// segment, no NUL or other control character. The one rule validation and every backend's staging apply.
    /// </summary>
    public static bool IsSafeRelativePath(string? path) =>
        !string.IsNullOrEmpty(path) && !path.StartsWith('/') && !path.Split('/').Any(s => s == "..") && !path.Any(char.IsControl);

    /// <inheritdoc/>
    public override string ToString() => $"{Source} -> {Destination}";
}

/// <summary>Who is told when a job changes state.</summary>
public sealed record NotificationSettings
{
    /// <summary>States that trigger a notification; empty means every terminal state and AwaitingApproval.</summary>
    public IReadOnlyList<JobState> OnStates { get; init; } = [];

    /// <summary>An address that receives a JSON POST per notification, or null.</summary>
    public Uri? Webhook { get; init; }

    /// <summary>An e-mail address to notify, or null (delivered by a notifier that supports e-mail).</summary>
    public string? Email { get; init; }
}

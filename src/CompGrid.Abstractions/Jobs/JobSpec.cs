namespace CompGrid;

/// <summary>
/// What a user asks to run: the payload, the resources, the limits and where it may run.
/// Validated by the engine on submission; bad input is rejected with a <see cref="JobValidationException"/>
/// naming the field and the rule, and nothing is stored.
/// </summary>
public sealed record JobSpec
{
    /// <summary>A short name for the job. The default is <c>job</c>.</summary>
    public string Name { get; init; } = "job";

    /// <summary>The user who owns the job (required).</summary>
    public string Owner { get; init; } = "";

    /// <summary>The account (grant code) the job is charged to, or null when billing is not used.</summary>
    public string? Account { get; init; }

    /// <summary>What the job runs (required).</summary>
    public JobPayload? Payload { get; init; }

    /// <summary>The resources requested.</summary>
    public ResourceRequest Resources { get; init; } = new();

    /// <summary>The walltime limit, or null for the engine's default.</summary>
    public TimeSpan? Walltime { get; init; }

    /// <summary>Environment variables for the job. Names must match <c>[A-Za-z_][A-Za-z0-9_]*</c>.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>The working directory on the backend, or null for a per-job directory the backend creates.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Free-form labels (kept with the job, searchable, passed to backends that support labels).</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>A priority adjustment like Slurm's nice: positive values lower the priority. The default is 0.</summary>
    public int Nice { get; init; }

    /// <summary>The quality of service (for example <c>normal</c>, <c>premium</c>, <c>scavenger</c>), or null for the default.</summary>
    public string? Qos { get; init; }

    /// <summary>Where the job may run.</summary>
    public JobConstraints Constraints { get; init; } = new();

    /// <summary>Files copied into the job's working directory before it starts.</summary>
    public IReadOnlyList<StagingItem> Inputs { get; init; } = [];

    /// <summary>Files copied out of the job's working directory after it ends.</summary>
    public IReadOnlyList<StagingItem> Outputs { get; init; } = [];

    /// <summary>The directory outputs are copied to, or null for the backend's default.</summary>
    public string? OutputDirectory { get; init; }

    /// <summary>Notification settings, or null for the engine's defaults.</summary>
    public NotificationSettings? Notifications { get; init; }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} by {Owner} ({Payload}; {Resources})";
}

namespace CompGrid.Local.Supervision;

/// <summary>The supervisor's own record of a job, kept in its root-only directory and never read from the job's.</summary>
internal sealed record LocalJobRecord
{
    public string JobId { get; init; } = "";
    public string Name { get; init; } = "";
    public string Owner { get; init; } = "";
    public string? Account { get; init; }
    public string? Partition { get; init; }
    public string? Qos { get; init; }
    public int Pid { get; init; }
    public ulong StartTime { get; init; }
    public DateTimeOffset StartedAt { get; init; }
    public TimeSpan Walltime { get; init; }
    public List<string> Nodes { get; init; } = [];
    public int Cpus { get; init; }
    public long MemoryMiB { get; init; }
    public string WorkDirectory { get; init; } = "";
    public bool OwnWorkDirectory { get; init; }
    public List<StagingItem> Outputs { get; init; } = [];
    public string? OutputDirectory { get; init; }

    /// <summary>The account the job runs as (null: the host's own user).</summary>
    public string? RunAs { get; init; }

    /// <summary>The uid the job runs as.</summary>
    public uint? RunAsUid { get; init; }

    /// <summary>Whether <see cref="RunAsUid"/> was leased to this job alone (from <c>JobUserIds</c>).</summary>
    public bool RunAsPerJob { get; init; }

    /// <summary>Whether the job was put into cgroups of its own.</summary>
    public bool InCgroup { get; init; }
}

/// <summary>What the supervisor measured once the job ended.</summary>
internal sealed record JobUsage
{
    public TimeSpan? CpuTime { get; init; }
    public long? PeakMemoryBytes { get; init; }
    public bool OutOfMemory { get; init; }
}

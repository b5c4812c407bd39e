namespace CompGrid.Slurm.Mapping;

/// <summary>A job as Slurm will receive it, transport-neutral: the REST dialect and the sbatch argument builder both read it.</summary>
internal sealed record SlurmJobDefinition
{
    public required string CompGridJobId { get; init; }
    public required string Name { get; init; }
    public required string Script { get; init; }
    public required string Comment { get; init; }
    public string? Account { get; init; }
    public string? Partition { get; init; }
    public string? Qos { get; init; }
    public int Nodes { get; init; } = 1;
    public int CpusPerTask { get; init; } = 1;
    public long MemoryMiBPerNode { get; init; }
    public int GpusPerNode { get; init; }
    public string? GpuModel { get; init; }
    public int TimeLimitMinutes { get; init; }
    public int Nice { get; init; }
    public bool Exclusive { get; init; }
    public string? Constraint { get; init; }
    public required string WorkingDirectory { get; init; }
    public required string StandardOutput { get; init; }
    public required string StandardError { get; init; }
    /// <summary>Environment for transports that pass it out of band (REST); the script exports the same values.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();
    /// <summary>The Slurm user to act as (REST service token), or null for the transport's own user.</summary>
    public string? User { get; init; }

    /// <summary>The gres request, for example <c>gpu:2</c> or <c>gpu:a100:1</c>, or null.</summary>
    public string? Gres => GpusPerNode <= 0 ? null : GpuModel is null ? $"gpu:{GpusPerNode}" : $"gpu:{GpuModel}:{GpusPerNode}";
}

/// <summary>A job as slurmctld (or accounting, once purged) reports it.</summary>
internal sealed record SlurmJobInfo
{
    public required string JobId { get; init; }
    public required string State { get; init; }
    public string? Reason { get; init; }
    public int? ExitCode { get; init; }
    public int? Signal { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }
    public string? NodeList { get; init; }
    public string? Comment { get; init; }

    /// <summary>The CompGrid job id carried in the comment, or null.</summary>
    public string? CompGridJobId => SlurmJobMapper.ParseComment(Comment);

    public BackendJobStatus ToStatus()
    {
        var state = SlurmStates.Map(State);
        return new BackendJobStatus
        {
            BackendJobId = JobId,
            JobId = CompGridJobId,
            State = state,
            NativeState = State,
            Reason = Reason is null or "None" or "" ? null : Reason,
            ExitCode = ExitCode,
            Signal = Signal,
            StartedAt = state == JobState.Queued ? null : StartedAt, // a pending job's StartTime is only an estimate
            EndedAt = state.IsTerminal() ? EndedAt : null,
            Nodes = HostList.Expand(NodeList),
        };
    }
}

/// <summary>One job's accounting record (sacct or slurmdb).</summary>
internal sealed record SlurmAccountingRecord
{
    public required string JobId { get; init; }
    public required string State { get; init; }
    public string? User { get; init; }
    public string? Account { get; init; }
    public string? Partition { get; init; }
    public string? Qos { get; init; }
    public string? NodeList { get; init; }
    public int NodeCount { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }
    public long ElapsedSeconds { get; init; }
    public int? ExitCode { get; init; }
    public int? Signal { get; init; }
    public TimeSpan CpuTime { get; init; }
    public long? MaxRssBytes { get; init; }
    public IReadOnlyDictionary<string, decimal> AllocatedTres { get; init; } = new Dictionary<string, decimal>();
    public string? Comment { get; init; }

    public bool HasEnded => EndedAt is not null && SlurmStates.Map(State).IsTerminal();

    public UsageRecord ToUsage(string backendName, string fallbackJobId)
    {
        AllocatedTres.TryGetValue("cpu", out decimal cpus);
        AllocatedTres.TryGetValue("mem", out decimal mem);
        AllocatedTres.TryGetValue("gres/gpu", out decimal gpus);
        AllocatedTres.TryGetValue("node", out decimal nodes);
        return new UsageRecord
        {
            JobId = SlurmJobMapper.ParseComment(Comment) ?? fallbackJobId,
            Account = Account,
            User = User ?? "",
            Backend = backendName,
            BackendJobId = JobId,
            Partition = Partition,
            Qos = Qos,
            Nodes = HostList.Expand(NodeList),
            StartedAt = StartedAt,
            EndedAt = EndedAt,
            Elapsed = TimeSpan.FromSeconds(ElapsedSeconds),
            AllocatedCpus = (int)cpus,
            AllocatedMemoryMiB = (long)mem,
            AllocatedGpus = (int)gpus,
            NodeCount = nodes > 0 ? (int)nodes : NodeCount,
            CpuTime = CpuTime,
            PeakMemoryBytes = MaxRssBytes,
            ExitCode = ExitCode,
            FinalState = SlurmStates.Map(State),
            Tres = AllocatedTres,
        };
    }
}

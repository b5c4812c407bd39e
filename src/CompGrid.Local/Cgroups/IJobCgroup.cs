namespace CompGrid.Local.Cgroups;

/// <summary>What a job's cgroup counted: CPU time, peak memory, and whether the kernel killed a process for memory.</summary>
internal sealed record CgroupUsage(TimeSpan? CpuTime, long? PeakMemoryBytes, bool OutOfMemory);

/// <summary>The limits a job's cgroup enforces.</summary>
internal sealed record CgroupLimits(int Cpus, long MemoryMiB, int MaxProcesses);

/// <summary>Makes per-job cgroups on one kind of hierarchy (v1 controllers or the v2 unified tree).</summary>
internal interface ICgroupDriver
{
    /// <summary>Says what the driver uses, for the start-up log.</summary>
    string Description { get; }

    /// <summary>Creates the job's cgroup with its limits.</summary>
    IJobCgroup Create(string jobId, CgroupLimits limits);

    /// <summary>The job's cgroup, whether or not it still exists.</summary>
    IJobCgroup Open(string jobId);

    /// <summary>The job ids that have a cgroup under this backend's directory (leftovers after a restart included).</summary>
    IReadOnlyList<string> ListJobs();

    /// <summary>Removes the backend's own directory when no job cgroup is left in it (at dispose).</summary>
    void TryRemoveIfEmpty();
}

/// <summary>One job's cgroup.</summary>
internal interface IJobCgroup
{
    /// <summary>Moves a process (and so its future children) into the cgroup.</summary>
    void Add(int pid);

    /// <summary>The processes in the cgroup.</summary>
    IReadOnlyList<int> Pids();

    /// <summary>Sends <paramref name="signal"/> to every process in the cgroup.</summary>
    void Signal(int signal);

    /// <summary>Kills every process in the cgroup so that none can fork away first (freeze, then SIGKILL, or <c>cgroup.kill</c>).</summary>
    void KillAll();

    /// <summary>Reads the cgroup's accounting.</summary>
    CgroupUsage ReadUsage();

    /// <summary>Removes the cgroup; false while processes remain in it.</summary>
    bool TryRemove();
}

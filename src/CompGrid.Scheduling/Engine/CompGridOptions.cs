namespace CompGrid;

/// <summary>Options of the CompGrid engine. Bind from the <c>CompGrid</c> configuration section; validated at start-up.</summary>
public sealed class CompGridOptions
{
    /// <summary>The walltime of jobs that set none. The default is 1 hour.</summary>
    public TimeSpan DefaultWalltime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The longest walltime a job may ask for. The default is 30 days.</summary>
    public TimeSpan MaxWalltime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Memory per CPU for jobs that set no memory, in MiB (like Slurm's DefMemPerCPU). The default is 256.</summary>
    public long DefaultMemoryMiBPerCpu { get; set; } = 256;

    /// <summary>The backend for jobs that name none, or null for the first registered backend that can run the job. The default is null.</summary>
    public string? DefaultBackend { get; set; }

    /// <summary>The placement policy's name. The default is <c>first-fit</c>.</summary>
    public string PlacementPolicy { get; set; } = "first-fit";

    /// <summary>The queue ordering policy's name. The default is <c>priority</c> (nice, then submit time, then id).</summary>
    public string QueueOrdering { get; set; } = "priority";

    /// <summary>How often the engine polls backends and retries pending jobs. The default is 1 second.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The most jobs dispatched in one scheduling cycle. The default is 1000.</summary>
    public int MaxDispatchPerCycle { get; set; } = 1000;

    /// <summary>
    /// How often priorities that move with time and usage (orderings other than <c>fifo</c> and <c>priority</c>) are
    /// recomputed when nothing else changed (like Slurm's PriorityCalcPeriod); any arrival, start or end recomputes them
    /// at once. The default is 1 minute.
    /// </summary>
    public TimeSpan PriorityRecalculationInterval { get; set; } = TimeSpan.FromMinutes(1);
}

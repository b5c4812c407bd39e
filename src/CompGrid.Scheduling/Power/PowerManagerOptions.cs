namespace CompGrid.Scheduling.Power;

/// <summary>
/// How the power manager starts and stops nodes that can be switched off, with Slurm's power-saving semantics
/// (<c>SuspendTime</c>, <c>ResumeTimeout</c>, <c>ResumeRate</c>, <c>SuspendRate</c>). Bindable from
/// <c>CompGrid:Power</c>.
/// </summary>
public sealed class PowerManagerOptions
{
    /// <summary>How long an up node must have run no job before it is stopped (Slurm's <c>SuspendTime</c>).</summary>
    /// <value>The default is 10 minutes.</value>
    public TimeSpan IdleTime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a node may take to come up; one that does not is marked down and not started again (Slurm's <c>ResumeTimeout</c>).</summary>
    /// <value>The default is 5 minutes.</value>
    public TimeSpan ResumeTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a node may take to power off (Slurm's <c>SuspendTimeout</c>).</summary>
    /// <value>The default is 2 minutes.</value>
    public TimeSpan SuspendTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>At most this many nodes are started per minute; 0 means no limit (Slurm's <c>ResumeRate</c>).</summary>
    /// <value>The default is 0.</value>
    public int ResumeRate { get; set; }

    /// <summary>At most this many nodes are stopped per minute; 0 means no limit (Slurm's <c>SuspendRate</c>).</summary>
    /// <value>The default is 0.</value>
    public int SuspendRate { get; set; }

    /// <summary>Nodes (<c>backend/node</c>) that are never stopped, however long they are idle (Slurm's <c>SuspendExcNodes</c>).</summary>
    /// <value>The default is empty.</value>
    public List<string> SuspendExcludedNodes { get; set; } = [];

    /// <summary>Partitions whose nodes are never stopped (Slurm's <c>SuspendExcParts</c>).</summary>
    /// <value>The default is empty.</value>
    public List<string> SuspendExcludedPartitions { get; set; } = [];

    /// <summary>How often <see cref="PowerManager.RunAsync"/> looks at the queue and the nodes.</summary>
    /// <value>The default is 15 seconds.</value>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(15);
}

namespace CompGrid.Scheduling.Availability;

/// <summary>
/// Availability windows: named pools of nodes that accept work only at set times (lab machines at night and at
/// weekends). Bindable from <c>CompGrid:Availability</c>; validated at start-up and by <see cref="AvailabilitySchedule.Create"/>.
/// </summary>
public sealed class AvailabilityOptions
{
    /// <summary>The node pools with windows. A node in no pool is always available.</summary>
    /// <value>The default is empty.</value>
    public List<NodePoolOptions> Pools { get; set; } = [];
}

/// <summary>A named set of nodes of one backend that share availability windows (a single node is a pool of one).</summary>
public sealed class NodePoolOptions
{
    /// <summary>The pool's name, shown in pending reasons ("node pool lab opens at …").</summary>
    /// <value>The default is empty (required).</value>
    public string Name { get; set; } = "";

    /// <summary>The backend whose nodes the pool holds.</summary>
    /// <value>The default is empty (required).</value>
    public string Backend { get; set; } = "";

    /// <summary>The node names in the pool; empty means every node of <see cref="Backend"/>.</summary>
    /// <value>The default is empty.</value>
    public List<string> Nodes { get; set; } = [];

    /// <summary>The time zone the windows' times of day are in: an IANA or Windows id that <see cref="TimeZoneInfo.FindSystemTimeZoneById"/> knows.</summary>
    /// <value>The default is <c>UTC</c>.</value>
    public string TimeZone { get; set; } = "UTC";

    /// <summary>When the pool accepts work; overlapping or touching windows join into one.</summary>
    /// <value>The default is empty (at least one is required).</value>
    public List<AvailabilityWindowOptions> Windows { get; set; } = [];

    /// <summary>What happens to a job still running on the pool's nodes when a window ends.</summary>
    /// <value>The default is <see cref="WindowEndAction.Requeue"/>.</value>
    public WindowEndAction AtWindowEnd { get; set; } = WindowEndAction.Requeue;
}

/// <summary>
/// One weekly window: it opens on each of <see cref="Days"/> at <see cref="Start"/> (local time of the pool's zone) and
/// closes at <see cref="End"/> — the next day when <see cref="End"/> is not after <see cref="Start"/> (20:00–07:00
/// crosses midnight; 00:00–00:00 is the whole day).
/// </summary>
public sealed class AvailabilityWindowOptions
{
    /// <summary>The days the window opens on.</summary>
    /// <value>The default is empty (at least one is required).</value>
    public List<DayOfWeek> Days { get; set; } = [];

    /// <summary>The local time of day it opens, from 00:00 to before 24:00.</summary>
    /// <value>The default is 00:00.</value>
    public TimeSpan Start { get; set; }

    /// <summary>The local time of day it closes, from 00:00 to before 24:00; not after <see cref="Start"/> means the next day.</summary>
    /// <value>The default is 00:00.</value>
    public TimeSpan End { get; set; }
}

/// <summary>What happens to a job still running on a node when the node's window ends.</summary>
public enum WindowEndAction
{
    /// <summary>The job is cancelled on its backend and queued again; the part that ran is not charged, and its record says why.</summary>
    Requeue,

    /// <summary>The job is cancelled through its backend (SIGTERM, then a kill after the backend's grace period) and ends <see cref="JobState.Cancelled"/>.</summary>
    Signal,
}

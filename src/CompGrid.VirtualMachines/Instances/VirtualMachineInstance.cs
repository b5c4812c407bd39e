namespace CompGrid.VirtualMachines;

/// <summary>The life-cycle state of a leased VM instance.</summary>
public enum InstanceState
{
    /// <summary>Created or stopped: no VM runs and nothing is metered.</summary>
    Stopped,

    /// <summary>The VM runs and its time is metered.</summary>
    Running,

    /// <summary>The VM's vCPUs are paused (QMP <c>stop</c>): its memory is kept, its time is not metered.</summary>
    Suspended,

    /// <summary>Deleted: the record is kept for the audit trail; no operation is allowed.</summary>
    Deleted,
}

/// <summary>Who calls the instance service: the user, and whether they may see and stop every instance.</summary>
/// <param name="User">The caller's user name; the owner of what they create.</param>
/// <param name="IsAdministrator">Whether the caller has the administrator role (sees and stops every instance).</param>
public sealed record InstanceCaller(string User, bool IsAdministrator = false);

/// <summary>A request to create an instance.</summary>
public sealed record CreateInstanceRequest
{
    /// <summary>The template (size) the instance is made from: one of <see cref="QemuBackendOptions.Templates"/>.</summary>
    public string Template { get; init; } = "";

    /// <summary>The grant (account) its hours are charged to.</summary>
    public string Account { get; init; } = "";

    /// <summary>A display name, or null.</summary>
    public string? Name { get; init; }
}

/// <summary>
/// A VM instance leased by a user: its identity, size, state and the metering state the engine keeps for it. Time is
/// metered in periods of <see cref="VirtualMachineInstancesOptions.MeteringPeriod"/>; each period is charged once, under
/// the key <see cref="ChargeKey"/>, so a retry or a restart never charges it twice.
/// </summary>
public sealed record VirtualMachineInstance
{
    /// <summary>The instance id (<c>i-</c> and 12 hex digits); it also names the VM.</summary>
    public string Id { get; init; } = "";

    /// <summary>A display name, or null.</summary>
    public string? Name { get; init; }

    /// <summary>The user who created it.</summary>
    public string Owner { get; init; } = "";

    /// <summary>The grant charged for its hours.</summary>
    public string Account { get; init; } = "";

    /// <summary>The template (size) it was made from.</summary>
    public string Template { get; init; } = "";

    /// <summary>Virtual CPUs of its size.</summary>
    public int Cpus { get; init; }

    /// <summary>Memory of its size in MiB.</summary>
    public long MemoryMiB { get; init; }

    /// <summary>The current state.</summary>
    public InstanceState State { get; init; }

    /// <summary>When it was created.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When its state last changed.</summary>
    public DateTimeOffset StateChangedAt { get; init; }

    /// <summary>Why it is in its state when CompGrid put it there (idle, funds, restart), or null.</summary>
    public string? Reason { get; init; }

    /// <summary>The number of the open (or next) metering period, from 0.</summary>
    public int Period { get; init; }

    /// <summary>When the open metering period began, or null when none is open.</summary>
    public DateTimeOffset? PeriodStart { get; init; }

    /// <summary>Running time of the open period before <see cref="RunningSince"/>.</summary>
    public TimeSpan PeriodRunning { get; init; }

    /// <summary>Since when the VM has been running (metered), or null while it is not.</summary>
    public DateTimeOffset? RunningSince { get; init; }

    /// <summary>The running time of every period closed (charged) so far.</summary>
    public TimeSpan MeteredTime { get; init; }

    /// <summary>The last instant the engine saw the instance (a metering round or an operation).</summary>
    public DateTimeOffset? LastObservedAt { get; init; }

    /// <summary>The last instant the engine saw the VM busy (its QEMU process used CPU above the idle threshold).</summary>
    public DateTimeOffset? LastActiveAt { get; init; }

    /// <summary>The idempotency key of a period's hold and charge: <c>&lt;id&gt;.p&lt;period&gt;</c> (the usage record's job id).</summary>
    public static string ChargeKey(string id, int period) => $"{id}.p{period.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    /// <inheritdoc/>
    public override string ToString() => $"{Id} {Template} ({Cpus} vCPU, {MemoryMiB} MiB) {State} owner={Owner} account={Account}";
}

/// <summary>What one metering round did (<see cref="VirtualMachineInstances.MeterAsync"/>).</summary>
public sealed record InstanceMeteringResult
{
    /// <summary>The keys of the periods charged (usage records delivered) in this round.</summary>
    public IReadOnlyList<string> Charged { get; init; } = [];

    /// <summary>Running instances idle longer than <see cref="VirtualMachineInstancesOptions.IdleTime"/>.</summary>
    public IReadOnlyList<string> Idle { get; init; } = [];

    /// <summary>Instances suspended in this round (idle with <see cref="VirtualMachineInstancesOptions.SuspendIdle"/>, or their grant could not fund another period).</summary>
    public IReadOnlyList<string> Suspended { get; init; } = [];
}

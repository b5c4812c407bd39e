namespace CompGrid.VirtualMachines.Qemu;

/// <summary>A job running (or ended) inside a VM: the guest process and what CompGrid observed about it.</summary>
internal sealed class GuestJob
{
    public required string JobId { get; init; }
    public required string BackendJobId { get; init; }
    public required string Node { get; init; }
    public required long Pid { get; init; }
    public required string WorkingDirectory { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public required TimeSpan Walltime { get; init; }
    public JobState State { get; set; } = JobState.Running;
    public string? Reason { get; set; }
    public int? ExitCode { get; set; }
    public int? Signal { get; set; }
    public DateTimeOffset? EndedAt { get; set; }
    public JobLogs Logs { get; set; } = JobLogs.Empty;

    public BackendJobStatus ToStatus() => new()
    {
        BackendJobId = BackendJobId,
        JobId = JobId,
        State = State,
        NativeState = State.IsTerminal() ? "exited" : "running",
        Reason = Reason,
        ExitCode = ExitCode,
        Signal = Signal,
        StartedAt = StartedAt,
        EndedAt = EndedAt,
        Nodes = [Node],
    };
}

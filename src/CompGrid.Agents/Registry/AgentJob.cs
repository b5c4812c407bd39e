using System.Text;

namespace CompGrid.Agents;

/// <summary>The portal's record of one job on one agent. Times are the portal's own observations, never the agent's.</summary>
internal sealed class AgentJob(string jobId, string machine)
{
    public string JobId { get; } = jobId;
    public string Machine { get; } = machine;
    public string BackendJobId => AgentJobIds.Format(Machine, JobId);
    public string? Owner { get; init; }
    public string? Account { get; init; }
    public string? Partition { get; init; }
    public string? Qos { get; init; }
    public int Cpus { get; init; }
    public long MemoryMiB { get; init; }
    public int Gpus { get; init; }
    public JobState State { get; set; } = JobState.Queued;
    public string? NativeState { get; set; } = "assigned";
    public int? ExitCode { get; set; }
    public int? Signal { get; set; }
    public string? Reason { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? EndedAt { get; set; }
    public TimeSpan? CpuTime { get; set; }
    public long? PeakMemoryBytes { get; set; }
    public BoundedLog Stdout { get; } = new();
    public BoundedLog Stderr { get; } = new();

    /// <summary>Whether the job holds capacity on its machine.</summary>
    public bool HoldsCapacity => !State.IsTerminal();

    public BackendJobStatus ToStatus() => new()
    {
        BackendJobId = BackendJobId, JobId = JobId, State = State, NativeState = NativeState, Reason = Reason,
        ExitCode = ExitCode, Signal = Signal, StartedAt = StartedAt, EndedAt = EndedAt, Nodes = [Machine],
    };
}

/// <summary>Backend job ids are <c>machine/jobId</c>, so a restarted portal knows which agent to wait for.</summary>
internal static class AgentJobIds
{
    public static string Format(string machine, string jobId) => machine + "/" + jobId;

    public static bool TryParse(string backendJobId, out string machine, out string jobId)
    {
        int slash = backendJobId.IndexOf('/', StringComparison.Ordinal);
        machine = slash > 0 ? backendJobId[..slash] : "";
        jobId = slash > 0 ? backendJobId[(slash + 1)..] : "";
        return slash > 0 && jobId.Length > 0;
    }
}

/// <summary>A job's output stream, keeping the newest <c>limit</c> characters.</summary>
internal sealed class BoundedLog
{
    private readonly StringBuilder _text = new();

    public bool Truncated { get; private set; }

    public void Append(string text, int limit)
    {
        _text.Append(text);
        if (_text.Length <= limit) return;
        _text.Remove(0, _text.Length - limit);
        Truncated = true;
    }

    public override string ToString() => _text.ToString();
}

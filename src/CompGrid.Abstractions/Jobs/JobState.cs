namespace CompGrid;

/// <summary>The normalised lifecycle state of a CompGrid job. The backend's own state is kept beside it in <see cref="JobRecord.NativeState"/>.</summary>
public enum JobState
{
    /// <summary>Admitted, but waiting for an approver because it exceeds the stewardship limits.</summary>
    AwaitingApproval,
    /// <summary>Waiting to be placed, or submitted to a backend that has not started it yet.</summary>
    Queued,
    /// <summary>Started on a backend.</summary>
    Running,
    /// <summary>Ended with exit code 0.</summary>
    Completed,
    /// <summary>Ended with a non-zero exit code or a launch failure.</summary>
    Failed,
    /// <summary>Cancelled by a user, an administrator or the backend.</summary>
    Cancelled,
    /// <summary>Killed because it exceeded its walltime limit.</summary>
    TimedOut,
    /// <summary>Killed because it exceeded its memory limit.</summary>
    OutOfMemory,
    /// <summary>Ended because the node (or engine) it ran on failed or became unreachable.</summary>
    NodeFailed,
    /// <summary>Preempted by the backend in favour of other work.</summary>
    Preempted,
    /// <summary>Refused: by an admission check, an approver, or the backend at submission.</summary>
    Rejected,
}

/// <summary>Helpers for <see cref="JobState"/>.</summary>
public static class JobStateExtensions
{
    /// <summary>Whether the state is final: no transition leaves it.</summary>
    public static bool IsTerminal(this JobState state) => state is not (JobState.AwaitingApproval or JobState.Queued or JobState.Running);
}

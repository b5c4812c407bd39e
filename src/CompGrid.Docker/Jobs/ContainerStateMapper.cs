using System.Globalization;
using CompGrid.Docker.Engine;

namespace CompGrid.Docker.Jobs;

/// <summary>What CompGrid knows about a job beyond the container's own state.</summary>
internal readonly record struct JobFlags(bool CancelRequested, bool TimedOut, DateTimeOffset? EngineLostAt, TimeSpan? Walltime);

/// <summary>Maps a container's state (status, exit code, OOMKilled) plus CompGrid's own knowledge to a <see cref="JobState"/>.</summary>
internal static class ContainerStateMapper
{
    public static (JobState State, string? Reason, int? ExitCode, int? Signal) Map(ContainerState state, JobFlags flags)
    {
        switch (state.Status)
        {
            case "created":
                return (JobState.Queued, "container created, not started yet", null, null);
            case "running" or "paused" or "restarting" or "removing":
                return (JobState.Running, state.Status == "running" ? null : "container is " + state.Status, null, null);
        }

        // exited or dead
        int exit = state.ExitCode;
        int? signal = exit is > 128 and < 160 ? exit - 128 : null;
        if (flags.TimedOut)
            return (JobState.TimedOut, $"walltime of {Describe(flags.Walltime)} exceeded; the container was stopped", exit, signal);
        if (flags.CancelRequested)
            return (JobState.Cancelled, "cancelled; the container was stopped", exit, signal);
        if (state.OomKilled)
            return (JobState.OutOfMemory, "killed by the kernel OOM killer: the job exceeded its memory limit", exit, signal);
        var finished = state.FinishedAtTime;
        if (flags.EngineLostAt is { } lost && signal is not null && finished is { } f && f >= lost - TimeSpan.FromSeconds(5))
            return (JobState.NodeFailed, $"the container was stopped by signal {signal} at {f:O}, while its Docker engine was unreachable or restarting (since {lost:O})", exit, signal);
        if (flags.Walltime is { } wall && wall > TimeSpan.Zero && signal is not null && state.StartedAtTime is { } s && finished is { } e && e - s >= wall)
            return (JobState.TimedOut, $"stopped by signal {signal} after its walltime of {Describe(wall)}", exit, signal);
        if (state.Status == "dead")
            return (JobState.Failed, "the container is dead" + (string.IsNullOrEmpty(state.Error) ? "" : ": " + state.Error), exit, signal);
        if (!string.IsNullOrEmpty(state.Error))
            return (JobState.Failed, state.Error, exit == 0 ? null : exit, signal);
        if (exit == 0) return (JobState.Completed, null, 0, null);
        return (JobState.Failed, signal is null ? $"exited with code {exit.ToString(CultureInfo.InvariantCulture)}" : $"killed by signal {signal} (exit code {exit})", exit, signal);
    }

    private static string Describe(TimeSpan? t) => t is { } v ? v.ToString("c", CultureInfo.InvariantCulture) : "?";
}

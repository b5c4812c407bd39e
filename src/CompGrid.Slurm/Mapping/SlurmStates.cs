using System.Globalization;

namespace CompGrid.Slurm.Mapping;

/// <summary>Slurm job states and exit codes → CompGrid's.</summary>
internal static class SlurmStates
{
    /// <summary>
    /// Maps a Slurm state (<c>squeue %T</c>, <c>scontrol JobState</c>, <c>sacct State</c> such as <c>CANCELLED by 0</c>, or
    /// the first element of a REST state array) to a <see cref="JobState"/>.
    /// </summary>
    public static JobState Map(string? nativeState)
    {
        string s = (nativeState ?? "").Trim();
        int space = s.IndexOf(' ', StringComparison.Ordinal);
        if (space > 0) s = s[..space]; // "CANCELLED by 1000"
        s = s.TrimEnd('+').ToUpperInvariant(); // sacct marks a few states with '+'
        return s switch
        {
            "PENDING" or "PD" or "REQUEUED" or "RQ" or "REQUEUE_HOLD" or "RH" or "REQUEUE_FED" or "RF" or "RESV_DEL_HOLD" or "RD" => JobState.Queued,
            "RUNNING" or "R" or "CONFIGURING" or "CF" or "COMPLETING" or "CG" or "SUSPENDED" or "S" or "STOPPED" or "ST"
                or "SIGNALING" or "SI" or "STAGE_OUT" or "SO" or "RESIZING" or "RS" or "POWER_UP_NODE" or "UPDATE_DB" or "EXPEDITING" => JobState.Running,
            "COMPLETED" or "CD" => JobState.Completed,
            "FAILED" or "F" or "BOOT_FAIL" or "BF" or "LAUNCH_FAILED" or "DEADLINE" or "DL" or "SPECIAL_EXIT" or "SE" or "RECONFIG_FAIL" => JobState.Failed,
            "CANCELLED" or "CA" or "REVOKED" or "RV" => JobState.Cancelled,
            "TIMEOUT" or "TO" => JobState.TimedOut,
            "OUT_OF_MEMORY" or "OOM" => JobState.OutOfMemory,
            "NODE_FAIL" or "NF" => JobState.NodeFailed,
            "PREEMPTED" or "PR" => JobState.Preempted,
            _ => JobState.Queued,
        };
    }

    /// <summary>Decodes a raw wait(2) status (slurmctld's <c>exit_code</c> in REST v0.0.38): exit code when exited, signal when signalled.</summary>
    public static (int? ExitCode, int? Signal) FromWaitStatus(long status)
    {
        if (status < 0 || status > 0xFFFF) return (null, null);
        int sig = (int)(status & 0x7F);
        int code = (int)((status >> 8) & 0xFF);
        return sig == 0 ? (code, null) : (null, NormaliseSignal(sig));
    }

    /// <summary>Parses the CLI form <c>exit:signal</c> (<c>3:0</c>, <c>0:15</c>, <c>0:125</c> for OOM kills).</summary>
    public static (int? ExitCode, int? Signal) FromCliExitCode(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return (null, null);
        var parts = text.Trim().Split(':');
        if (!int.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out int code)) return (null, null);
        int sig = parts.Length > 1 && int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int s) ? s : 0;
        return sig == 0 ? (code, null) : (code == 0 ? null : code, NormaliseSignal(sig));
    }

    // Slurm reports 125 (and other values above the signal range) as a marker, not as a signal.
    private static int? NormaliseSignal(int sig) => sig is > 0 and < 65 ? sig : null;
}

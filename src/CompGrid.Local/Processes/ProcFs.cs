using System.Globalization;

namespace CompGrid.Local.Processes;

/// <summary>Reads process facts from /proc and signals process groups (Linux).</summary>
internal static class ProcFs
{
    internal const int SIGTERM = 15;
    internal const int SIGKILL = 9;
    private static readonly long s_pageSize = Environment.SystemPageSize;
    private static readonly double s_ticksPerSecond = 100; // USER_HZ is 100 on Linux

    /// <summary>One process's line of /proc/PID/stat, the fields CompGrid needs.</summary>
    internal readonly record struct Stat(int Pid, char State, int ProcessGroup, int Session, long UserTicks, long SystemTicks, long ChildUserTicks, long ChildSystemTicks, ulong StartTime, long RssPages)
    {
        public TimeSpan CpuTime => TimeSpan.FromSeconds((UserTicks + SystemTicks + ChildUserTicks + ChildSystemTicks) / s_ticksPerSecond);
        public long RssBytes => RssPages * s_pageSize;
    }

    internal static Stat? Read(int pid)
    {
        try { return Parse(pid, File.ReadAllText($"/proc/{pid}/stat")); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    internal static Stat? Parse(int pid, string line)
    {
        int close = line.LastIndexOf(')');
        if (close < 0) return null;
        var f = line[(close + 2)..].Split(' ');
        if (f.Length < 22) return null;
        static long L(string s) => long.Parse(s, CultureInfo.InvariantCulture);
        // Field N of proc(5) is f[N - 3].
        return new Stat(pid, f[0][0], (int)L(f[2]), (int)L(f[3]), L(f[11]), L(f[12]), L(f[13]), L(f[14]), ulong.Parse(f[19], CultureInfo.InvariantCulture), L(f[21]));
    }

    /// <summary>Whether <paramref name="pid"/> is the process started at <paramref name="startTime"/> and has not exited (zombies count as exited).</summary>
    internal static bool IsAlive(int pid, ulong startTime) => Read(pid) is { } s && s.StartTime == startTime && s.State is not ('Z' or 'X');

    /// <summary>Every live process in session <paramref name="session"/>.</summary>
    internal static List<Stat> Session(int session)
    {
        var list = new List<Stat>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            var name = Path.GetFileName(dir.AsSpan());
            if (name.Length == 0 || !char.IsAsciiDigit(name[0]) || !int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out int pid)) continue;
            if (Read(pid) is { } s && s.Session == session && s.State is not ('Z' or 'X')) list.Add(s);
        }
        return list;
    }

    /// <summary>Every live process whose real user id is <paramref name="uid"/>.</summary>
    internal static List<int> OwnedBy(uint uid)
    {
        var pids = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)) continue;
            try
            {
                // "Uid:\treal\teffective\tsaved\tfs"
                string? line = File.ReadLines(Path.Combine(dir, "status")).FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal));
                var f = line?.Split('\t', StringSplitOptions.RemoveEmptyEntries);
                if (f is { Length: > 1 } && uint.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out uint real) && real == uid && Read(pid)?.State is not ('Z' or 'X'))
                    pids.Add(pid);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return pids;
    }

    /// <summary>Signals every process of the job: its process group, and any process of its session that left the group.</summary>
    internal static void SignalSession(int session, int signal)
    {
        _ = Libc.Kill(-session, signal);
        foreach (var s in Session(session)) _ = Libc.Kill(s.Pid, signal);
    }
}

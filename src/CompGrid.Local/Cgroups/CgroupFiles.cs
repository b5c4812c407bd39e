using System.Globalization;

namespace CompGrid.Local.Cgroups;

/// <summary>Small helpers for cgroupfs files: one value per write, pids one per line.</summary>
internal static class CgroupFiles
{
    internal static void Write(string dir, string file, string value) => File.WriteAllText(Path.Combine(dir, file), value);

    /// <summary>Writes where the cgroup may already be gone (killing, thawing): false instead of an exception.</summary>
    internal static bool TryWrite(string dir, string file, string value)
    {
        try { Write(dir, file, value); return true; }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    internal static string? Read(string dir, string file)
    {
        try { return File.ReadAllText(Path.Combine(dir, file)); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    internal static long? ReadLong(string dir, string file) =>
        long.TryParse(Read(dir, file)?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v : null;

    /// <summary>The value of <paramref name="key"/> in a flat-keyed file ("key value" per line).</summary>
    internal static long? ReadKey(string dir, string file, string key)
    {
        foreach (string line in (Read(dir, file) ?? "").Split('\n'))
        {
            var f = line.Split(' ', 2);
            if (f.Length == 2 && f[0] == key && long.TryParse(f[1].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long v)) return v;
        }
        return null;
    }

    internal static List<int> ReadPids(string dir)
    {
        var pids = new List<int>();
        foreach (string line in (Read(dir, "cgroup.procs") ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries))
            if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out int pid)) pids.Add(pid);
        return pids;
    }

    internal static bool TryRemoveDirectory(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: false); return true; }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    internal static IReadOnlyList<string> Children(string dir)
    {
        try { return Directory.Exists(dir) ? Directory.GetDirectories(dir).Select(Path.GetFileName).OfType<string>().ToList() : []; }
        catch (IOException) { return []; }
    }
}

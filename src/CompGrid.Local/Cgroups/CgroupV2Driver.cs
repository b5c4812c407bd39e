using System.Globalization;
using CompGrid.Local.Processes;

namespace CompGrid.Local.Cgroups;

/// <summary>Per-job cgroups on the unified (v2) hierarchy: <c>cpu.max</c>, <c>memory.max</c> (no swap), <c>pids.max</c>,
/// <c>cgroup.kill</c>, with CPU time from <c>cpu.stat</c>, peak from <c>memory.peak</c> and OOM kills from <c>memory.events</c>.</summary>
internal sealed class CgroupV2Driver(string baseDir) : ICgroupDriver
{
    private static readonly string[] s_needed = ["cpu", "memory", "pids"];

    public string Description => $"cgroup v2 at {baseDir}";

    /// <summary>
    /// Usable when the backend's directory can be made and the cpu, memory and pids controllers can be enabled for its
    /// children (the parent must delegate them, and v2 allows no processes in a cgroup that hands controllers down).
    /// </summary>
    internal static CgroupV2Driver? TryCreate(CgroupMounts mounts, string path, List<string> problems)
    {
        if (mounts.V2 is not { } place) { problems.Add("no cgroup v2 hierarchy is mounted"); return null; }
        // A child's controllers are what its parent hands down; look at the top before making anything.
        var offered = (CgroupFiles.Read(place.Mount, "cgroup.controllers") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (s_needed.Any(c => !offered.Contains(c))) { problems.Add($"the cgroup v2 hierarchy at {place.Mount} offers only '{string.Join(' ', offered)}', not cpu, memory and pids"); return null; }
        string dir = place.Resolve(path);
        try
        {
            Directory.CreateDirectory(dir);
            var available = (CgroupFiles.Read(dir, "cgroup.controllers") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var missing = s_needed.Where(c => !available.Contains(c)).ToList();
            if (missing.Count > 0) { problems.Add($"the cgroup v2 hierarchy at {dir} does not offer {string.Join(", ", missing)}"); return null; }
            CgroupFiles.Write(dir, "cgroup.subtree_control", "+cpu +memory +pids");
            return new CgroupV2Driver(dir);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            problems.Add($"cannot use cgroup v2 at {dir}: {ex.Message}");
            return null;
        }
    }

    public IJobCgroup Create(string jobId, CgroupLimits limits)
    {
        var job = new Job(Path.Combine(baseDir, jobId));
        Directory.CreateDirectory(job.Dir);
        if (limits.Cpus > 0)
            CgroupFiles.Write(job.Dir, "cpu.max", string.Create(CultureInfo.InvariantCulture, $"{limits.Cpus * CgroupV1Driver.CfsPeriodMicroseconds} {CgroupV1Driver.CfsPeriodMicroseconds}"));
        if (limits.MemoryMiB > 0)
        {
            CgroupFiles.Write(job.Dir, "memory.max", (limits.MemoryMiB * 1024 * 1024).ToString(CultureInfo.InvariantCulture));
            if (File.Exists(Path.Combine(job.Dir, "memory.swap.max"))) CgroupFiles.Write(job.Dir, "memory.swap.max", "0");
        }
        CgroupFiles.Write(job.Dir, "pids.max", limits.MaxProcesses > 0 ? limits.MaxProcesses.ToString(CultureInfo.InvariantCulture) : "max");
        return job;
    }

    public IJobCgroup Open(string jobId) => new Job(Path.Combine(baseDir, jobId));

    public void TryRemoveIfEmpty() => CgroupFiles.TryRemoveDirectory(baseDir);

    public IReadOnlyList<string> ListJobs() => CgroupFiles.Children(baseDir);

    private sealed class Job(string dir) : IJobCgroup
    {
        public string Dir { get; } = dir;

        public void Add(int pid) => CgroupFiles.Write(Dir, "cgroup.procs", pid.ToString(CultureInfo.InvariantCulture));

        public IReadOnlyList<int> Pids() => CgroupFiles.ReadPids(Dir);

        public void Signal(int signal)
        {
            foreach (int pid in Pids()) _ = Libc.Kill(pid, signal);
        }

        public void KillAll()
        {
            if (!Directory.Exists(Dir)) return;
            if (File.Exists(Path.Combine(Dir, "cgroup.kill")) && CgroupFiles.TryWrite(Dir, "cgroup.kill", "1")) return;
            CgroupFiles.TryWrite(Dir, "cgroup.freeze", "1");
            Signal(ProcFs.SIGKILL);
            CgroupFiles.TryWrite(Dir, "cgroup.freeze", "0");
        }

        public CgroupUsage ReadUsage()
        {
            TimeSpan? cpu = CgroupFiles.ReadKey(Dir, "cpu.stat", "usage_usec") is long us ? TimeSpan.FromTicks(us * 10) : null;
            return new CgroupUsage(cpu, CgroupFiles.ReadLong(Dir, "memory.peak"), CgroupFiles.ReadKey(Dir, "memory.events", "oom_kill") > 0);
        }

        public bool TryRemove() => CgroupFiles.TryRemoveDirectory(Dir);
    }
}

using System.Globalization;
using CompGrid.Local.Processes;

namespace CompGrid.Local.Cgroups;

/// <summary>Per-job cgroups on the v1 hierarchies: <c>cpu</c> (CFS quota), <c>cpuacct</c> (CPU time), <c>memory</c>
/// (limit, peak, OOM kills), <c>pids</c> (process limit) and <c>freezer</c> (kill without a fork race).</summary>
internal sealed class CgroupV1Driver(IReadOnlyDictionary<string, string> bases) : ICgroupDriver
{
    internal const long CfsPeriodMicroseconds = 100_000;

    public string Description => "cgroup v1 (" + string.Join(", ", bases.Select(kv => $"{kv.Key} at {kv.Value}")) + ")";

    /// <summary>Makes the backend's directory in each hierarchy; null (with the reasons) where none can be made.</summary>
    internal static CgroupV1Driver? TryCreate(CgroupMounts mounts, string path, List<string> problems)
    {
        var usable = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string c in CgroupMounts.V1Controllers)
        {
            if (!mounts.V1.TryGetValue(c, out var place)) { problems.Add($"the v1 '{c}' controller is not mounted"); continue; }
            string dir = place.Resolve(path);
            try { Directory.CreateDirectory(dir); usable[c] = dir; }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { problems.Add($"cannot create {dir}: {ex.Message}"); }
        }
        return usable.Count > 0 ? new CgroupV1Driver(usable) : null;
    }

    public IJobCgroup Create(string jobId, CgroupLimits limits)
    {
        var job = (Job)Open(jobId);
        foreach (string dir in job.Dirs.Values) Directory.CreateDirectory(dir);
        if (job.Dirs.TryGetValue("cpu", out var cpu) && limits.Cpus > 0)
        {
            CgroupFiles.Write(cpu, "cpu.cfs_period_us", CfsPeriodMicroseconds.ToString(CultureInfo.InvariantCulture));
            CgroupFiles.Write(cpu, "cpu.cfs_quota_us", (limits.Cpus * CfsPeriodMicroseconds).ToString(CultureInfo.InvariantCulture));
        }
        if (job.Dirs.TryGetValue("memory", out var mem) && limits.MemoryMiB > 0)
        {
            string bytes = (limits.MemoryMiB * 1024 * 1024).ToString(CultureInfo.InvariantCulture);
            CgroupFiles.Write(mem, "memory.limit_in_bytes", bytes);
            // Without a swap limit a job over its memory would swap instead of ending; absent when swap accounting is off.
            if (File.Exists(Path.Combine(mem, "memory.memsw.limit_in_bytes"))) CgroupFiles.Write(mem, "memory.memsw.limit_in_bytes", bytes);
        }
        if (job.Dirs.TryGetValue("pids", out var pids))
            CgroupFiles.Write(pids, "pids.max", limits.MaxProcesses > 0 ? limits.MaxProcesses.ToString(CultureInfo.InvariantCulture) : "max");
        return job;
    }

    public IJobCgroup Open(string jobId) => new Job(bases.ToDictionary(kv => kv.Key, kv => kv.Value + "/" + jobId, StringComparer.Ordinal));

    public void TryRemoveIfEmpty()
    {
        foreach (string dir in bases.Values) CgroupFiles.TryRemoveDirectory(dir);
    }

    public IReadOnlyList<string> ListJobs() => bases.Values.SelectMany(CgroupFiles.Children).Distinct(StringComparer.Ordinal).ToList();

    private sealed class Job(Dictionary<string, string> dirs) : IJobCgroup
    {
        public Dictionary<string, string> Dirs { get; } = dirs;

        public void Add(int pid)
        {
            foreach (string dir in Dirs.Values) CgroupFiles.Write(dir, "cgroup.procs", pid.ToString(CultureInfo.InvariantCulture));
        }

        public IReadOnlyList<int> Pids() => Dirs.Values.SelectMany(CgroupFiles.ReadPids).Distinct().ToList();

        public void Signal(int signal)
        {
            foreach (int pid in Pids()) _ = Libc.Kill(pid, signal);
        }

        public void KillAll()
        {
            // Frozen processes cannot fork; the SIGKILLs land when they thaw.
            if (Dirs.TryGetValue("freezer", out var freezer) && CgroupFiles.TryWrite(freezer, "freezer.state", "FROZEN"))
            {
                for (int i = 0; i < 10_000 && CgroupFiles.Read(freezer, "freezer.state")?.Trim() == "FREEZING"; i++) Thread.Yield();
                Signal(ProcFs.SIGKILL);
                CgroupFiles.TryWrite(freezer, "freezer.state", "THAWED");
                return;
            }
            for (int pass = 0; pass < 16 && Pids().Count > 0; pass++) Signal(ProcFs.SIGKILL);
        }

        public CgroupUsage ReadUsage()
        {
            TimeSpan? cpu = Dirs.TryGetValue("cpuacct", out var acct) && CgroupFiles.ReadLong(acct, "cpuacct.usage") is long ns ? TimeSpan.FromTicks(ns / 100) : null;
            long? peak = null;
            bool oom = false;
            if (Dirs.TryGetValue("memory", out var mem))
            {
                peak = CgroupFiles.ReadLong(mem, "memory.max_usage_in_bytes");
                // oom_kill (Linux 4.13+) counts the kernel's kills in this cgroup; under_oom catches a kill in progress.
                oom = CgroupFiles.ReadKey(mem, "memory.oom_control", "oom_kill") > 0 || CgroupFiles.ReadKey(mem, "memory.oom_control", "under_oom") > 0;
            }
            return new CgroupUsage(cpu, peak, oom);
        }

        public bool TryRemove()
        {
            bool all = true;
            foreach (string dir in Dirs.Values) all &= CgroupFiles.TryRemoveDirectory(dir);
            return all;
        }
    }
}

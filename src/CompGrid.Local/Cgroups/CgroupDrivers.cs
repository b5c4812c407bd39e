using System.Security.Cryptography;
using System.Text;

namespace CompGrid.Local.Cgroups;

/// <summary>Chooses how jobs are confined: cgroup v2 where the unified hierarchy is usable, else the v1 controllers, else none.</summary>
internal static class CgroupDrivers
{
    /// <summary>The driver for this machine, or null with the reasons none could be used.</summary>
    internal static ICgroupDriver? Choose(string backend, LocalBackendOptions options, out IReadOnlyList<string> problems)
    {
        var found = new List<string>();
        problems = found;
        if (!options.EnableCgroups) { found.Add("EnableCgroups is false"); return null; }
        if (!Environment.IsPrivilegedProcess) { found.Add("the host does not run as root"); return null; }
        var mounts = CgroupMounts.Detect();
        string path = options.CgroupRoot.TrimEnd('/') + "/" + InstanceName(backend, options.StateDirectory);
        var v2Problems = new List<string>();
        if (CgroupV2Driver.TryCreate(mounts, path, v2Problems) is { } v2) return v2;
        if (CgroupV1Driver.TryCreate(mounts, path, found) is { } v1) return v1;
        found.AddRange(v2Problems);
        return null;
    }

    // Stable across restarts (so leftovers are found again), distinct per backend and state directory.
    internal static string InstanceName(string backend, string stateDirectory)
    {
        string safe = new(backend.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_').ToArray());
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFullPath(stateDirectory)));
        return safe + "-" + Convert.ToHexStringLower(hash)[..10];
    }
}

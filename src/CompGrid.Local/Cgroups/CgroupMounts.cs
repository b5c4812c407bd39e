namespace CompGrid.Local.Cgroups;

/// <summary>A hierarchy's mount point and the directory of this process's own cgroup in it.</summary>
internal sealed record CgroupPlace(string Mount, string Own)
{
    /// <summary>A relative path goes under the process's own cgroup, an absolute one under the hierarchy's root.</summary>
    internal string Resolve(string path) => path.StartsWith('/') ? Mount.TrimEnd('/') + path : Own.TrimEnd('/') + "/" + path;
}

/// <summary>Where this machine's cgroup hierarchies are mounted, and where this process sits in each.</summary>
internal sealed record CgroupMounts(IReadOnlyDictionary<string, CgroupPlace> V1, CgroupPlace? V2)
{
    /// <summary>The v1 controllers the backend uses.</summary>
    internal static readonly string[] V1Controllers = ["cpu", "cpuacct", "memory", "pids", "freezer"];

    /// <summary>Reads <c>/proc/self/mountinfo</c> and <c>/proc/self/cgroup</c>; with this process's own cgroup in each.</summary>
    internal static CgroupMounts Detect() => Parse(Read("/proc/self/mountinfo"), Read("/proc/self/cgroup"));

    private static string Read(string path)
    {
        try { return File.ReadAllText(path); }
        catch (IOException) { return ""; }
        catch (UnauthorizedAccessException) { return ""; }
    }

    // mountinfo: "id parent major:minor root mountpoint options [tags] - fstype source superoptions".
    // cgroup: "id:controller,controller:/path" (v1) and "0::/path" (v2).
    internal static CgroupMounts Parse(string mountinfo, string cgroup)
    {
        var own = new Dictionary<string, string>(StringComparer.Ordinal);
        string? ownV2 = null;
        foreach (string line in cgroup.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split(':', 3);
            if (f.Length != 3) continue;
            if (f[1].Length == 0) ownV2 = f[2];
            else foreach (string c in f[1].Split(',')) own[c] = f[2];
        }
        var v1 = new Dictionary<string, CgroupPlace>(StringComparer.Ordinal);
        CgroupPlace? v2 = null;
        foreach (string line in mountinfo.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(" - ", 2);
            if (parts.Length != 2) continue;
            var pre = parts[0].Split(' ');
            var post = parts[1].Split(' ');
            if (pre.Length < 5 || post.Length < 3) continue;
            string root = Unescape(pre[3]), mountPoint = Unescape(pre[4]);
            if (post[0] == "cgroup2" && ownV2 is not null) v2 ??= new CgroupPlace(mountPoint, Join(mountPoint, root, ownV2));
            else if (post[0] == "cgroup")
                foreach (string opt in post[2].Split(','))
                    if (V1Controllers.Contains(opt) && own.TryGetValue(opt, out var path)) v1.TryAdd(opt, new CgroupPlace(mountPoint, Join(mountPoint, root, path)));
        }
        return new CgroupMounts(v1, v2);
    }

    // The mount may show a subtree (root != "/"): the process's path is relative to the hierarchy's root.
    private static string Join(string mountPoint, string root, string path)
    {
        if (root != "/" && path.StartsWith(root, StringComparison.Ordinal)) path = path[root.Length..];
        string rel = path.Trim('/');
        return rel.Length == 0 ? mountPoint : mountPoint.TrimEnd('/') + "/" + rel;
    }

    private static string Unescape(string s) => s.Replace("\\040", " ", StringComparison.Ordinal).Replace("\\011", "\t", StringComparison.Ordinal).Replace("\\134", "\\", StringComparison.Ordinal);
}

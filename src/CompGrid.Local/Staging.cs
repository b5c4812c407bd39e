namespace CompGrid.Local;

/// <summary>Copies inputs into a job's working directory and outputs out of it, refusing paths that escape their directory.</summary>
internal static class Staging
{
    /// <summary>Copies the file or directory <paramref name="source"/> to <paramref name="destination"/> inside <paramref name="workDirectory"/>.</summary>
    public static void CopyIn(string source, string workDirectory, string destination)
    {
        string target = Inside(workDirectory, destination, "inputs.destination");
        if (File.Exists(source)) { Directory.CreateDirectory(Path.GetDirectoryName(target)!); File.Copy(source, target, overwrite: true); }
        else if (Directory.Exists(source)) CopyDirectory(source, target, null);
        else throw new CompGridException($"Input '{source}' does not exist.") { Operation = "stage-in" };
    }

    /// <summary>Copies <paramref name="source"/> (relative to the working directory) to <paramref name="destination"/> under <paramref name="outputDirectory"/>.</summary>
    public static void CopyOut(string workDirectory, string source, string outputDirectory, string destination)
    {
        string from = Inside(workDirectory, source, "outputs.source");
        string to = Inside(outputDirectory, destination, "outputs.destination");
        RejectLinkOut(workDirectory, from);
        if (File.Exists(from)) { Directory.CreateDirectory(Path.GetDirectoryName(to)!); File.Copy(from, to, overwrite: true); }
        else if (Directory.Exists(from)) CopyDirectory(from, to, workDirectory);
        else throw new CompGridException($"Output '{source}' was not produced.") { Operation = "stage-out" };
    }

    internal static string Inside(string root, string relative, string field)
    {
        if (!StagingItem.IsSafeRelativePath(relative)) throw new CompGridException($"{field}: '{relative}' must be a relative path that stays inside its directory.") { Operation = "stage" };
        string full = Path.GetFullPath(Path.Combine(root, relative));
        string rootFull = Path.GetFullPath(root).TrimEnd('/') + "/";
        if (!full.StartsWith(rootFull, StringComparison.Ordinal)) throw new CompGridException($"{field}: '{relative}' escapes its directory.") { Operation = "stage" };
        return full;
    }

    // A job may leave a symbolic link pointing anywhere; follow links only while they stay in the working directory.
    private static void RejectLinkOut(string root, string path)
    {
        string rootFull = Path.GetFullPath(root).TrimEnd('/') + "/";
        FileSystemInfo info = Directory.Exists(path) ? new DirectoryInfo(path) : new FileInfo(path);
        if (info.LinkTarget is not null)
        {
            var target = info.ResolveLinkTarget(returnFinalTarget: true);
            if (target is null || !Path.GetFullPath(target.FullName).StartsWith(rootFull, StringComparison.Ordinal))
                throw new CompGridException($"Output '{path}' is a link that leaves the working directory.") { Operation = "stage-out" };
        }
    }

    private static void CopyDirectory(string from, string to, string? confineTo)
    {
        Directory.CreateDirectory(to);
        foreach (var entry in new DirectoryInfo(from).EnumerateFileSystemInfos())
        {
            string dest = Path.Combine(to, entry.Name);
            if (confineTo is not null) RejectLinkOut(confineTo, entry.FullName);
            if (entry is DirectoryInfo d) CopyDirectory(d.FullName, dest, confineTo);
            else File.Copy(entry.FullName, dest, overwrite: true);
        }
    }
}

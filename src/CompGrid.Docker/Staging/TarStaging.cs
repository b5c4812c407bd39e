using System.Formats.Tar;

namespace CompGrid.Docker.Staging;

/// <summary>
/// Tar handling for stage-in through the archive API: builds the archive that creates a job's working directory with
/// its inputs (owned by the job's user). Output archives are checked and extracted by <see cref="OutputArchive"/>.
/// </summary>
internal static class TarStaging
{
    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    private const UnixFileMode RegularFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private const UnixFileMode ExecutableMode = RegularFileMode | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    /// <summary>The rule a relative staging path breaks, or null when it is fine (relative, no <c>..</c>, not empty).</summary>
    public static string? CheckRelativePath(string? path)
    {
        if (string.IsNullOrWhiteSpace(path)) return "must not be empty";
        if (path.Contains('\0', StringComparison.Ordinal)) return "must not contain NUL characters";
        if (path.StartsWith('/') || path.StartsWith('\\') || Path.IsPathRooted(path)) return $"must be a relative path, not '{path}'";
        foreach (string segment in path.Split('/', '\\'))
            if (segment == "..") return $"must not contain '..' ('{path}' would escape its directory)";
        return null;
    }

    /// <summary>Splits a relative path into its segments, dropping empty and <c>.</c> segments.</summary>
    public static string[] Segments(string path) =>
        path.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(s => s != ".").ToArray();

    /// <summary>
    /// Writes an archive (extracted at the job volume) holding the directories of <paramref name="workDirectory"/>
    /// (relative to the volume), the <paramref name="inputs"/> (local source, destination relative to the working
    /// directory) and optionally a script file, every entry owned by <paramref name="uid"/>:<paramref name="gid"/>.
    /// </summary>
    public static void WriteInputArchive(Stream output, string workDirectory, IReadOnlyList<StagingItem> inputs, (string Name, string Text)? script, int uid, int gid, DateTimeOffset now)
    {
        using var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        var written = new HashSet<string>(StringComparer.Ordinal);
        string root = string.Join('/', Segments(workDirectory));
        AddDirectories(writer, written, root, uid, gid, now);

        for (int i = 0; i < inputs.Count; i++)
        {
            var item = inputs[i];
            string destination = string.Join('/', Segments(item.Destination));
            string name = root.Length == 0 ? destination : root + "/" + destination;
            string source = Path.GetFullPath(item.Source);
            var parent = name.Contains('/', StringComparison.Ordinal) ? name[..name.LastIndexOf('/')] : "";
            AddDirectories(writer, written, parent, uid, gid, now);
            if (Directory.Exists(source))
                AddDirectoryTree(writer, written, source, name, $"inputs[{i}].source", uid, gid, now);
            else if (File.Exists(source))
                AddFile(writer, source, name, uid, gid);
            else
                throw new JobValidationException($"inputs[{i}].source", $"'{item.Source}' does not exist");
        }

        if (script is { } s)
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, (root.Length == 0 ? "" : root + "/") + s.Name)
            {
                Uid = uid, Gid = gid, Mode = ExecutableMode, ModificationTime = now,
                DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(s.Text)),
            };
            writer.WriteEntry(entry);
        }
    }

    private static void AddDirectories(TarWriter writer, HashSet<string> written, string relative, int uid, int gid, DateTimeOffset now)
    {
        if (relative.Length == 0) return;
        string path = "";
        foreach (string segment in relative.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            path = path.Length == 0 ? segment : path + "/" + segment;
            if (!written.Add(path + "/")) continue;
            writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, path + "/") { Uid = uid, Gid = gid, Mode = DirectoryMode, ModificationTime = now });
        }
    }

    private static void AddFile(TarWriter writer, string source, string name, int uid, int gid)
    {
        var mode = OperatingSystem.IsWindows() ? RegularFileMode : File.GetUnixFileMode(source);
        using var data = File.OpenRead(source);
        var entry = new PaxTarEntry(TarEntryType.RegularFile, name)
        {
            Uid = uid, Gid = gid,
            Mode = (mode & UnixFileMode.UserExecute) != 0 ? ExecutableMode : RegularFileMode,
            ModificationTime = File.GetLastWriteTimeUtc(source),
            DataStream = data,
        };
        writer.WriteEntry(entry);
    }

    private static void AddDirectoryTree(TarWriter writer, HashSet<string> written, string sourceRoot, string nameRoot, string field, int uid, int gid, DateTimeOffset now)
    {
        AddDirectories(writer, written, nameRoot, uid, gid, now);
        var pending = new Stack<string>();
        pending.Push(sourceRoot);
        while (pending.Count > 0)
        {
            string dir = pending.Pop();
            foreach (var info in new DirectoryInfo(dir).EnumerateFileSystemInfos().OrderBy(f => f.Name, StringComparer.Ordinal))
            {
                string relative = Path.GetRelativePath(sourceRoot, info.FullName).Replace('\\', '/');
                string name = nameRoot + "/" + relative;
                if (info.LinkTarget is { } target)
                {
                    if (!LinkStaysInside(sourceRoot, Path.GetDirectoryName(info.FullName)!, target))
                        throw new JobValidationException(field, $"'{info.FullName}' is a link to '{target}', outside the staged directory");
                    writer.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, name) { Uid = uid, Gid = gid, LinkName = target, ModificationTime = now, Mode = ExecutableMode });
                }
                else if (info is DirectoryInfo)
                {
                    AddDirectories(writer, written, name, uid, gid, now);
                    pending.Push(info.FullName);
                }
                else if (info is FileInfo { Exists: true } file && (file.Attributes & FileAttributes.Device) == 0)
                {
                    AddFile(writer, file.FullName, name, uid, gid);
                }
            }
        }
    }

    private static bool LinkStaysInside(string root, string linkDirectory, string target)
    {
        if (Path.IsPathRooted(target)) return false;
        string resolved = Path.GetFullPath(Path.Combine(linkDirectory, target));
        return IsInside(root, resolved);
    }

    private static bool IsInside(string root, string path)
    {
        string r = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        string p = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        return p == r || p.StartsWith(r + Path.DirectorySeparatorChar, StringComparison.Ordinal);
    }
}

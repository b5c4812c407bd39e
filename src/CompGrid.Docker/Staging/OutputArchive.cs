using System.Formats.Tar;

namespace CompGrid.Docker.Staging;

/// <summary>What one job may still stage out: the rest of its byte and entry budget (shared by all its outputs).</summary>
internal sealed class OutputBudget(long maxBytes, int maxEntries)
{
    public long MaxBytes { get; } = maxBytes;
    public int MaxEntries { get; } = maxEntries;
    public long BytesUsed { get; private set; }
    public int EntriesUsed { get; private set; }
    public long BytesLeft => MaxBytes - BytesUsed;
    public int EntriesLeft => MaxEntries - EntriesUsed;

    /// <summary>The most tar bytes an archive within the budget can take (headers, PAX records and padding included).</summary>
    public long ArchiveBytesLeft => BytesLeft + (EntriesLeft + 8L) * 2048;

    public void Spend(long bytes, int entries)
    {
        BytesUsed += bytes;
        EntriesUsed += entries;
    }
}

/// <summary>An output archive checked against the job's output root: where each entry goes, and what it costs.</summary>
internal sealed record OutputPlan(string OutputRoot, IReadOnlyList<PlannedEntry> Entries, long Bytes);

/// <summary>One archive entry and its place below the output root (a path of real directories: no link in it).</summary>
internal sealed record PlannedEntry(TarEntryType Type, string RelativePath, string? LinkName, string? HardLinkSource);

/// <summary>
/// Checks and extracts an output archive fetched from a container (<c>GET /containers/{id}/archive</c>). Every path is
/// resolved inside the job's output root component by component, the way the kernel would resolve it: a symbolic
/// link (already on disk, or earlier in the archive) is followed by its target, <c>..</c> pops one component, and a
/// path that would rise above the root, an absolute link target, or a loop is refused — whatever the link's text
/// looks like once collapsed. Nothing is ever written through a link: each entry is written at its resolved path,
/// made of real directories only. An archive with any problem, or over the job's size and entry budget, is refused
/// before anything of it is written; an extraction that fails halfway removes what it created.
/// </summary>
internal static class OutputArchive
{
    private const int MaxLinkHops = 40; // as Linux's MAXSYMLINKS

    private const UnixFileMode RegularFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private const UnixFileMode ExecutableMode = RegularFileMode | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    private enum Kind { Missing, Directory, File, Link }

    private readonly record struct Node(Kind Kind, string? Target = null);

    /// <summary>
    /// Checks an archive whose entries start with <paramref name="rootName"/> (the basename Docker gives the copied
    /// path) bound for <paramref name="destination"/> (relative to <paramref name="outputRoot"/>). Returns the plan, or
    /// the problems found. Reads the stream to its end.
    /// </summary>
    public static (OutputPlan? Plan, IReadOnlyList<string> Problems) Check(Stream archive, string rootName, string outputRoot, string destination, OutputBudget budget)
    {
        string root = Path.GetFullPath(outputRoot);
        var problems = new List<string>();
        var overlay = new Dictionary<string, Node>(StringComparer.Ordinal);
        var entries = new List<PlannedEntry>();
        var links = new List<(string Name, string Parent, string Target)>();
        string[] destinationSegments = TarStaging.Segments(destination);
        long bytes = 0;
        using (var reader = new TarReader(archive, leaveOpen: true))
        {
            while (reader.GetNextEntry() is { } entry)
            {
                if (entry.EntryType is TarEntryType.GlobalExtendedAttributes or TarEntryType.ExtendedAttributes or TarEntryType.LongLink or TarEntryType.LongPath) continue;
                string name = entry.Name;
                if (entry.EntryType is not (TarEntryType.Directory or TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile
                    or TarEntryType.SymbolicLink or TarEntryType.HardLink))
                {
                    problems.Add($"'{name}' is a {entry.EntryType} entry; only files, directories and links are staged");
                    continue;
                }
                if (CheckArchiveName(name) is { } bad) { problems.Add($"'{name}' {bad}"); continue; }
                if (MapName(name, rootName, destinationSegments) is not { } segments) { problems.Add($"'{name}' is outside the copied path '{rootName}'"); continue; }
                if (entries.Count + 1 > budget.EntriesLeft)
                {
                    problems.Add($"the outputs hold more than {budget.MaxEntries} files, directories and links (DockerBackendOptions.MaxOutputFiles)");
                    break;
                }
                if (entry.EntryType is not (TarEntryType.Directory or TarEntryType.SymbolicLink or TarEntryType.HardLink))
                {
                    bytes += entry.Length;
                    if (bytes > budget.BytesLeft)
                    {
                        problems.Add($"the outputs are larger than {budget.MaxBytes} bytes (DockerBackendOptions.MaxOutputBytes)");
                        break;
                    }
                }

                // The parent is resolved following links; the entry itself is placed there (never followed).
                string? parent = Resolve(root, overlay, segments[..^1], out string? why);
                if (parent is null) { problems.Add($"'{name}' {why}"); continue; }
                string relative = Join(parent, segments[^1]);
                switch (entry.EntryType)
                {
                    case TarEntryType.Directory:
                        var existing = Lookup(root, overlay, relative);
                        if (existing.Kind is Kind.Link) problems.Add($"'{name}' would replace the symbolic link '{relative}' with a directory");
                        overlay[relative] = new Node(Kind.Directory);
                        entries.Add(new PlannedEntry(entry.EntryType, relative, null, null));
                        break;
                    case TarEntryType.SymbolicLink:
                        string target = entry.LinkName;
                        if (target.Length == 0 || target.Contains('\0', StringComparison.Ordinal) || target.StartsWith('/') || Path.IsPathRooted(target))
                        {
                            problems.Add($"'{name}' is a link to the absolute path '{target}'");
                            continue;
                        }
                        overlay[relative] = new Node(Kind.Link, target);
                        links.Add((name, parent, target));
                        entries.Add(new PlannedEntry(entry.EntryType, relative, target, null));
                        break;
                    case TarEntryType.HardLink:
                        if (CheckArchiveName(entry.LinkName) is { } badLink) { problems.Add($"'{name}' is a hard link to '{entry.LinkName}', which {badLink}"); continue; }
                        string? source = MapName(entry.LinkName, rootName, destinationSegments) is { } s ? Resolve(root, overlay, s, out _) : null;
                        if (source is null || !overlay.TryGetValue(source, out var linked) || linked.Kind != Kind.File)
                        {
                            problems.Add($"'{name}' is a hard link to '{entry.LinkName}', which is not a file of this output");
                            continue;
                        }
                        overlay[relative] = new Node(Kind.File);
                        entries.Add(new PlannedEntry(entry.EntryType, relative, null, source));
                        break;
                    default:
                        if (Lookup(root, overlay, relative).Kind == Kind.Directory && !overlay.ContainsKey(relative))
                            problems.Add($"'{name}' would replace the directory '{relative}' with a file");
                        overlay[relative] = new Node(Kind.File);
                        entries.Add(new PlannedEntry(entry.EntryType, relative, null, null));
                        break;
                }
            }
        }

        // Links are judged once the whole archive is known: a link may lead through links that come after it.
        foreach (var (name, parent, target) in links)
        {
            var targetSegments = SplitPath(parent).Concat(target.Split('/', StringSplitOptions.RemoveEmptyEntries)).ToArray();
            if (Resolve(root, overlay, targetSegments, out string? why) is null)
                problems.Add($"'{name}' is a link to '{target}', which {why}");
        }
        return problems.Count > 0 ? (null, problems) : (new OutputPlan(root, entries, bytes), problems);
    }

    /// <summary>
    /// Resolves <paramref name="segments"/> below the root, following links; returns the resolved relative path (real
    /// directories only, "" for the root itself) or null with the reason.
    /// </summary>
    private static string? Resolve(string root, Dictionary<string, Node> overlay, IEnumerable<string> segments, out string? why)
    {
        why = null;
        var current = new List<string>();
        var pending = new Queue<string>(segments);
        int hops = 0;
        while (pending.Count > 0)
        {
            string segment = pending.Dequeue();
            if (segment.Length == 0 || segment == ".") continue;
            if (segment == "..")
            {
                if (current.Count == 0) { why = "leads outside the job's output directory"; return null; }
                current.RemoveAt(current.Count - 1);
                continue;
            }
            string candidate = current.Count == 0 ? segment : string.Join('/', current) + "/" + segment;
            var node = Lookup(root, overlay, candidate);
            switch (node.Kind)
            {
                case Kind.Link:
                    if (++hops > MaxLinkHops) { why = "goes through too many symbolic links (a loop?)"; return null; }
                    string target = node.Target!;
                    if (target.StartsWith('/') || Path.IsPathRooted(target)) { why = $"goes through '{candidate}', a link to the absolute path '{target}'"; return null; }
                    // The link's target replaces it, relative to the link's directory (which is `current`).
                    var rest = pending.ToArray();
                    pending.Clear();
                    foreach (string s in target.Split('/')) pending.Enqueue(s);
                    foreach (string s in rest) pending.Enqueue(s);
                    break;
                case Kind.File when pending.Count > 0:
                    why = $"goes through '{candidate}', which is a file";
                    return null;
                default:
                    current.Add(segment);
                    break;
            }
        }
        return string.Join('/', current);
    }

    /// <summary>What is at a resolved relative path: the archive's entry if it has one, else what is on disk (links not followed).</summary>
    private static Node Lookup(string root, Dictionary<string, Node> overlay, string relative)
    {
        if (overlay.TryGetValue(relative, out var node)) return node;
        string path = relative.Length == 0 ? root : Path.Combine(root, relative);
        var info = new FileInfo(path);
        if (info.LinkTarget is { } target) return new Node(Kind.Link, target);
        if (Directory.Exists(path)) return new Node(Kind.Directory);
        return File.Exists(path) ? new Node(Kind.File) : new Node(Kind.Missing);
    }

    /// <summary>Extracts a checked archive at the paths of <paramref name="plan"/>; on failure removes what it created.</summary>
    public static int Extract(Stream archive, OutputPlan plan)
    {
        var created = new List<string>();
        try
        {
            int index = 0, written = 0;
            var deferred = new List<PlannedEntry>();
            using (var reader = new TarReader(archive, leaveOpen: true))
            {
                while (reader.GetNextEntry() is { } entry && index < plan.Entries.Count)
                {
                    if (entry.EntryType is TarEntryType.GlobalExtendedAttributes or TarEntryType.ExtendedAttributes or TarEntryType.LongLink or TarEntryType.LongPath) continue;
                    var planned = plan.Entries[index++];
                    string target = FullPath(plan, planned.RelativePath);
                    switch (planned.Type)
                    {
                        case TarEntryType.Directory:
                            CreateDirectories(plan, planned.RelativePath, created);
                            break;
                        case TarEntryType.SymbolicLink or TarEntryType.HardLink:
                            deferred.Add(planned); // links last, so no later entry is written through one
                            break;
                        default:
                            CreateDirectories(plan, Parent(planned.RelativePath), created);
                            RemoveExisting(target);
                            created.Add(target);
                            using (var file = new FileStream(target, FileMode.CreateNew, FileAccess.Write))
                                entry.DataStream?.CopyTo(file);
                            if (!OperatingSystem.IsWindows())
                                File.SetUnixFileMode(target, (entry.Mode & UnixFileMode.UserExecute) != 0 ? ExecutableMode : RegularFileMode);
                            written++;
                            break;
                    }
                }
            }
            foreach (var link in deferred)
            {
                string target = FullPath(plan, link.RelativePath);
                CreateDirectories(plan, Parent(link.RelativePath), created);
                RemoveExisting(target);
                created.Add(target);
                if (link.Type == TarEntryType.HardLink) File.Copy(FullPath(plan, link.HardLinkSource!), target);
                else File.CreateSymbolicLink(target, link.LinkName!);
                written++;
            }
            return written;
        }
        catch
        {
            for (int i = created.Count - 1; i >= 0; i--)
            {
                try
                {
                    if (new FileInfo(created[i]).LinkTarget is null && Directory.Exists(created[i])) Directory.Delete(created[i], recursive: true);
                    else File.Delete(created[i]);
                }
                catch (IOException) { }
                catch (UnauthorizedAccessException) { }
            }
            throw;
        }
    }

    private static string FullPath(OutputPlan plan, string relative) => relative.Length == 0 ? plan.OutputRoot : Path.Combine(plan.OutputRoot, relative);

    private static string Parent(string relative) => relative.Contains('/', StringComparison.Ordinal) ? relative[..relative.LastIndexOf('/')] : "";

    private static string[] SplitPath(string relative) => relative.Length == 0 ? [] : relative.Split('/');

    private static string Join(string parent, string name) => parent.Length == 0 ? name : parent + "/" + name;

    /// <summary>Creates the directories of a resolved path one by one (none of them is a link: the plan resolved them).</summary>
    private static void CreateDirectories(OutputPlan plan, string relative, List<string> created)
    {
        if (!Directory.Exists(plan.OutputRoot)) { Directory.CreateDirectory(plan.OutputRoot); created.Add(plan.OutputRoot); }
        string path = plan.OutputRoot;
        foreach (string segment in SplitPath(relative))
        {
            path = Path.Combine(path, segment);
            if (new FileInfo(path).LinkTarget is not null)
                throw new CompGridException($"'{path}' became a symbolic link while outputs were staged.") { Operation = "stage-out", Code = CompGridErrorCodes.UnsafeArchive };
            if (Directory.Exists(path)) continue;
            Directory.CreateDirectory(path);
            created.Add(path);
        }
    }

    private static void RemoveExisting(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null || File.Exists(path)) File.Delete(path);
        else if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
    }

    private static string? CheckArchiveName(string name)
    {
        if (name.Length == 0) return "has an empty name";
        if (name.Contains('\0', StringComparison.Ordinal)) return "contains a NUL character";
        if (name.StartsWith('/') || name.StartsWith('\\') || Path.IsPathRooted(name)) return "is an absolute path";
        foreach (string segment in name.Split('/', '\\'))
            if (segment == "..") return "contains '..'";
        return null;
    }

    /// <summary>Maps an archive name under <paramref name="rootName"/> to segments below the output root; null when not under the root.</summary>
    private static string[]? MapName(string name, string rootName, string[] destination)
    {
        var segments = TarStaging.Segments(name);
        if (segments.Length == 0 || segments[0] != rootName) return null;
        return [.. destination, .. segments[1..]];
    }
}

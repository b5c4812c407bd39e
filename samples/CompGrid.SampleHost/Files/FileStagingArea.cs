using System.Security.Cryptography;

namespace CompGrid.SampleHost.Files;

/// <summary>
/// Where uploads wait for the jobs that take them (<c>{data}/uploads/{user}/{id}/…</c>) and where jobs' outputs land
/// (<c>{data}/outputs/{id}/…</c>). Every path a request names is checked with <see cref="StagingItem.IsSafeRelativePath"/>,
/// the rule the engine and every backend apply, and then confined to its root.
/// </summary>
public sealed class FileStagingArea
{
    /// <summary>The area under <paramref name="dataDirectory"/>.</summary>
    public FileStagingArea(string dataDirectory)
    {
        Uploads = Path.Combine(dataDirectory, "uploads");
        Outputs = Path.Combine(dataDirectory, "outputs");
        foreach (string d in (string[])[Uploads, Outputs])
        {
            Directory.CreateDirectory(d);
            // Jobs that run as their own accounts must reach their upload to stage it in: they may pass through (0711)
            // but not list, so only who knows an upload's random id finds it.
            if (OperatingSystem.IsLinux()) File.SetUnixFileMode(d, (UnixFileMode)0b111_001_001);
        }
    }

    /// <summary>The root of every upload.</summary>
    public string Uploads { get; }

    /// <summary>The root of every job's output directory.</summary>
    public string Outputs { get; }

    /// <summary>A new, random id (an upload's or an output directory's).</summary>
    public static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>Whether <paramref name="id"/> has the shape <see cref="NewId"/> gives (so it is safe as one path segment).</summary>
    public static bool IsId(string? id) => id is { Length: 32 } && id.All(char.IsAsciiHexDigitLower);

    /// <summary>The folder of <paramref name="user"/>'s upload <paramref name="id"/> (which may not exist).</summary>
    public string UploadDirectory(string user, string id) => Path.Combine(Uploads, UserSegment(user), id);

    /// <summary>A new output directory for one job (created when the job ends).</summary>
    public string NewOutputDirectory() => Path.Combine(Outputs, NewId());

    /// <summary>Whether <paramref name="directory"/> is one of this area's output directories (and not a path a job spec chose elsewhere).</summary>
    public bool IsOutputDirectory(string? directory) =>
        directory is not null && Path.GetDirectoryName(Path.GetFullPath(directory)) == Path.GetFullPath(Outputs) && IsId(Path.GetFileName(directory));

    /// <summary>The full path of <paramref name="relative"/> inside <paramref name="root"/>, or null when it breaks the staging path rule or escapes.</summary>
    public static string? Inside(string root, string relative)
    {
        if (!StagingItem.IsSafeRelativePath(relative)) return null;
        string full = Path.GetFullPath(Path.Combine(root, relative));
        string rootFull = Path.GetFullPath(root).TrimEnd('/') + "/";
        return full.StartsWith(rootFull, StringComparison.Ordinal) ? full : null;
    }

    /// <summary>The files under <paramref name="directory"/> as relative paths with sizes (no links followed), sorted.</summary>
    public static IReadOnlyList<StagedFile> List(string directory)
    {
        if (!Directory.Exists(directory)) return [];
        var root = new DirectoryInfo(directory);
        return root.EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint })
            .Select(f => new StagedFile(Path.GetRelativePath(root.FullName, f.FullName), f.Length))
            .OrderBy(f => f.Path, StringComparer.Ordinal).ToList();
    }

    // User names come from configuration; hex keeps any of them one safe segment.
    private static string UserSegment(string user) => Convert.ToHexStringLower(System.Text.Encoding.UTF8.GetBytes(user));
}

/// <summary>One staged file: its path relative to its upload or output directory, and its size in bytes.</summary>
public sealed record StagedFile(string Path, long Size);

using System.Formats.Tar;
using CompGrid.Docker.Staging;

namespace CompGrid.Docker.Tests;

[Trait("Category", "Docker")]
public sealed class TarStagingTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "cg-tar-" + Guid.NewGuid().ToString("N")[..8]);

    public TarStagingTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private static MemoryStream Tar(params TarEntry[] entries)
    {
        var ms = new MemoryStream();
        using (var w = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
            foreach (var e in entries) w.WriteEntry(e);
        ms.Position = 0;
        return ms;
    }

    private static PaxTarEntry File(string name, string text) => new(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)) };

    private static PaxTarEntry Dir(string name) => new(TarEntryType.Directory, name);

    private static PaxTarEntry Link(string name, string target) => new(TarEntryType.SymbolicLink, name) { LinkName = target };

    [Theory]
    [InlineData("../x")]
    [InlineData("a/../../x")]
    [InlineData("/etc/passwd")]
    [InlineData("")]
    public void CheckRelativePath_Escaping_Rejected(string path) => Assert.NotNull(TarStaging.CheckRelativePath(path));

    [Theory]
    [InlineData("out.txt")]
    [InlineData("results/a/b.bin")]
    [InlineData("./x")]
    [InlineData("a..b")]
    public void CheckRelativePath_Inside_Accepted(string path) => Assert.Null(TarStaging.CheckRelativePath(path));

    private static OutputBudget Budget(long bytes = 1 << 20, int entries = 1000) => new(bytes, entries);

    private IReadOnlyList<string> Validate(MemoryStream tar, string root, string destination = "res", OutputBudget? budget = null) =>
        OutputArchive.Check(tar, root, _dir, destination, budget ?? Budget()).Problems;

    private int Extract(MemoryStream tar, string root, string destination = "res", OutputBudget? budget = null)
    {
        var (plan, problems) = OutputArchive.Check(tar, root, _dir, destination, budget ?? Budget());
        if (plan is null) throw new CompGridException(string.Join("; ", problems)) { Code = "unsafe-archive" };
        tar.Position = 0;
        return OutputArchive.Extract(tar, plan);
    }

    [Fact]
    public void Extract_Directory_MapsRootToDestination()
    {
        using var tar = Tar(Dir("results/"), File("results/a.txt", "A"), Dir("results/sub/"), File("results/sub/b.txt", "B"), Link("results/l", "sub/b.txt"));
        string dest = Path.Combine(_dir, "res");
        Assert.Empty(Validate(tar, "results"));
        tar.Position = 0;
        Extract(tar, "results");
        Assert.Equal("A", System.IO.File.ReadAllText(Path.Combine(dest, "a.txt")));
        Assert.Equal("B", System.IO.File.ReadAllText(Path.Combine(dest, "sub", "b.txt")));
        Assert.Equal("B", System.IO.File.ReadAllText(Path.Combine(dest, "l")));
    }

    [Fact]
    public void Extract_SingleFile_BecomesDestination()
    {
        using var tar = Tar(File("made.txt", "made\n"));
        Extract(tar, "made.txt", "copy.txt");
        Assert.Equal("made\n", System.IO.File.ReadAllText(Path.Combine(_dir, "copy.txt")));
    }

    [Fact]
    public void Validate_DotDotEntry_Rejected()
    {
        using var tar = Tar(Dir("results/"), File("results/../../evil.txt", "x"));
        Assert.Contains(Validate(tar, "results"), p => p.Contains("'..'", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_AbsoluteEntry_Rejected()
    {
        using var tar = Tar(File("/etc/evil", "x"));
        Assert.Contains(Validate(tar, "etc"), p => p.Contains("absolute", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_EntryOutsideCopiedRoot_Rejected()
    {
        using var tar = Tar(File("other/x", "x"));
        Assert.NotEmpty(Validate(tar, "results"));
    }

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("../../../../etc")]
    [InlineData("../../outside")]
    public void Validate_SymlinkEscaping_Rejected(string target)
    {
        using var tar = Tar(Dir("results/"), Link("results/link", target));
        Assert.Contains(Validate(tar, "results"), p => p.Contains("link", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_ChainedLinksCollapsingTextuallyInside_RejectedAsTheyResolveOutside()
    {
        // `s -> .` makes s/s/s/... stay where it is, so the eight `..` climb eight levels above res: the text collapses
        // to "." but the kernel would resolve the link to "/".
        using var tar = Tar(Dir("r/"), Link("r/s", "."), Link("r/up", "s/s/s/s/s/s/s/s/../../../../../../../.."));
        var problems = Validate(tar, "r");
        Assert.Contains(problems, p => p.Contains("'r/up'", StringComparison.Ordinal) && p.Contains("outside", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_FileThroughExistingLinkLeadingOut_Rejected()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "res"));
        System.IO.File.CreateSymbolicLink(Path.Combine(_dir, "res", "up"), "../..");
        using var tar = Tar(File("x", "pwned"));
        Assert.Contains(Validate(tar, "x", "res/up/root/x"), p => p.Contains("outside", StringComparison.Ordinal));
        Assert.False(System.IO.File.Exists(Path.Combine(_dir, "..", "root", "x")));
    }

    [Fact]
    public void Extract_FileThroughExistingLinkInside_WrittenAtTheResolvedRealPath()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "res", "real"));
        System.IO.File.CreateSymbolicLink(Path.Combine(_dir, "res", "alias"), "real");
        using var tar = Tar(File("x", "ok"));
        Extract(tar, "x", "res/alias/x");
        Assert.Equal("ok", System.IO.File.ReadAllText(Path.Combine(_dir, "res", "real", "x")));
        Assert.NotNull(new FileInfo(Path.Combine(_dir, "res", "alias")).LinkTarget); // the link itself is untouched
    }

    [Fact]
    public void Validate_LinkLoop_Rejected()
    {
        using var tar = Tar(Dir("r/"), Link("r/a", "b"), Link("r/b", "a"), Link("r/c", "a/x"));
        Assert.Contains(Validate(tar, "r"), p => p.Contains("too many symbolic links", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_HardLinkOutsideRoot_Rejected()
    {
        using var tar = Tar(Dir("results/"), new PaxTarEntry(TarEntryType.HardLink, "results/h") { LinkName = "../etc/shadow" });
        Assert.NotEmpty(Validate(tar, "results"));
    }

    [Fact]
    public void Validate_DeviceEntry_Rejected()
    {
        using var tar = Tar(Dir("results/"), new PaxTarEntry(TarEntryType.CharacterDevice, "results/null") { DeviceMajor = 1, DeviceMinor = 3 });
        Assert.Contains(Validate(tar, "results"), p => p.Contains("CharacterDevice", StringComparison.Ordinal));
    }

    [Fact]
    public void Check_OverByteBudget_RefusedNamingTheOption()
    {
        using var tar = Tar(Dir("r/"), File("r/a", new string('a', 600)), File("r/b", new string('b', 600)));
        Assert.Contains(Validate(tar, "r", budget: Budget(bytes: 1000)), p => p.Contains("MaxOutputBytes", StringComparison.Ordinal));
    }

    [Fact]
    public void Check_OverEntryBudget_RefusedNamingTheOption()
    {
        using var tar = Tar(Dir("r/"), File("r/a", "a"), File("r/b", "b"), File("r/c", "c"));
        Assert.Contains(Validate(tar, "r", budget: Budget(entries: 3)), p => p.Contains("MaxOutputFiles", StringComparison.Ordinal));
    }

    [Fact]
    public void Extract_UnsafeEntry_ThrowsUnsafeArchive()
    {
        using var tar = Tar(Dir("results/"), Link("results/up", "/tmp"));
        var e = Assert.Throws<CompGridException>(() => Extract(tar, "results"));
        Assert.Equal("unsafe-archive", e.Code);
        Assert.False(Directory.Exists(Path.Combine(_dir, "res")));
    }

    [Fact]
    public void WriteInputArchive_FilesAndTree_OwnedByUserUnderWorkDirectory()
    {
        string src = Path.Combine(_dir, "src");
        Directory.CreateDirectory(Path.Combine(src, "tree", "deep"));
        System.IO.File.WriteAllText(Path.Combine(src, "one.txt"), "1");
        System.IO.File.WriteAllText(Path.Combine(src, "tree", "deep", "two.txt"), "2");
        using var ms = new MemoryStream();
        TarStaging.WriteInputArchive(ms, "work", [new StagingItem { Source = Path.Combine(src, "one.txt"), Destination = "data/one.txt" }, new StagingItem { Source = Path.Combine(src, "tree"), Destination = "t" }],
            (".compgrid-job.sh", "echo hi"), 65534, 65534, DateTimeOffset.UnixEpoch);
        ms.Position = 0;
        var entries = new List<TarEntry>();
        using (var r = new TarReader(ms))
            while (r.GetNextEntry(copyData: true) is { } e) entries.Add(e);
        var names = entries.Select(e => e.Name).ToList();
        Assert.Equal("work/", names[0]);
        Assert.Contains("work/data/", names);
        Assert.Contains("work/data/one.txt", names);
        Assert.Contains("work/t/deep/two.txt", names);
        Assert.Contains("work/.compgrid-job.sh", names);
        Assert.All(entries, e => Assert.Equal(65534, e.Uid));
        Assert.True((entries.Single(e => e.Name == "work/.compgrid-job.sh").Mode & UnixFileMode.UserExecute) != 0);
    }

    [Fact]
    public void WriteInputArchive_LinkOutOfSourceTree_RejectedNamingTheField()
    {
        string src = Path.Combine(_dir, "src2");
        Directory.CreateDirectory(src);
        System.IO.File.CreateSymbolicLink(Path.Combine(src, "passwd"), "/etc/passwd");
        using var ms = new MemoryStream();
        var e = Assert.Throws<JobValidationException>(() => TarStaging.WriteInputArchive(ms, "work", [new StagingItem { Source = src, Destination = "in" }], null, 1, 1, DateTimeOffset.UnixEpoch));
        Assert.Equal("inputs[0].source", e.Errors[0].Field);
    }
}

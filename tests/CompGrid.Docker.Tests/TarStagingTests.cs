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

    [Fact]
    public void Extract_Directory_MapsRootToDestination()
    {
        using var tar = Tar(Dir("results/"), File("results/a.txt", "A"), Dir("results/sub/"), File("results/sub/b.txt", "B"), Link("results/l", "sub/b.txt"));
        string dest = Path.Combine(_dir, "res");
        Assert.Empty(TarStaging.Validate(tar, "results", dest));
        tar.Position = 0;
        TarStaging.Extract(tar, "results", dest);
        Assert.Equal("A", System.IO.File.ReadAllText(Path.Combine(dest, "a.txt")));
        Assert.Equal("B", System.IO.File.ReadAllText(Path.Combine(dest, "sub", "b.txt")));
        Assert.Equal("B", System.IO.File.ReadAllText(Path.Combine(dest, "l")));
    }

    [Fact]
    public void Extract_SingleFile_BecomesDestination()
    {
        using var tar = Tar(File("made.txt", "made\n"));
        string dest = Path.Combine(_dir, "copy.txt");
        TarStaging.Extract(tar, "made.txt", dest);
        Assert.Equal("made\n", System.IO.File.ReadAllText(dest));
    }

    [Fact]
    public void Validate_DotDotEntry_Rejected()
    {
        using var tar = Tar(Dir("results/"), File("results/../../evil.txt", "x"));
        var problems = TarStaging.Validate(tar, "results", Path.Combine(_dir, "res"));
        Assert.Contains(problems, p => p.Contains("'..'", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_AbsoluteEntry_Rejected()
    {
        using var tar = Tar(File("/etc/evil", "x"));
        Assert.Contains(TarStaging.Validate(tar, "etc", Path.Combine(_dir, "res")), p => p.Contains("absolute", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_EntryOutsideCopiedRoot_Rejected()
    {
        using var tar = Tar(File("other/x", "x"));
        Assert.NotEmpty(TarStaging.Validate(tar, "results", Path.Combine(_dir, "res")));
    }

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("../../../../etc")]
    [InlineData("../outside")]
    public void Validate_SymlinkEscaping_Rejected(string target)
    {
        using var tar = Tar(Dir("results/"), Link("results/link", target));
        Assert.Contains(TarStaging.Validate(tar, "results", Path.Combine(_dir, "res")), p => p.Contains("link", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_HardLinkOutsideRoot_Rejected()
    {
        using var tar = Tar(Dir("results/"), new PaxTarEntry(TarEntryType.HardLink, "results/h") { LinkName = "../etc/shadow" });
        Assert.NotEmpty(TarStaging.Validate(tar, "results", Path.Combine(_dir, "res")));
    }

    [Fact]
    public void Validate_DeviceEntry_Rejected()
    {
        using var tar = Tar(Dir("results/"), new PaxTarEntry(TarEntryType.CharacterDevice, "results/null") { DeviceMajor = 1, DeviceMinor = 3 });
        Assert.Contains(TarStaging.Validate(tar, "results", Path.Combine(_dir, "res")), p => p.Contains("CharacterDevice", StringComparison.Ordinal));
    }

    [Fact]
    public void Extract_UnsafeEntry_ThrowsUnsafeArchive()
    {
        using var tar = Tar(Dir("results/"), Link("results/up", "/tmp"));
        var e = Assert.Throws<CompGridException>(() => TarStaging.Extract(tar, "results", Path.Combine(_dir, "res")));
        Assert.Equal("unsafe-archive", e.Code);
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

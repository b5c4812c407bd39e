using System.Diagnostics;
using CompGrid.Slurm.Cli;
using CompGrid.Slurm.Logs;

namespace CompGrid.Slurm.Tests.Unit;

/// <summary>
/// Both log readers (in process, and the script run over SSH — here run by the local runner) against what a job can do
/// to its own output file on a real filesystem: a symbolic link to a secret, a FIFO, a hard link, a huge file.
/// </summary>
[Trait("Category", "Slurm")]
public sealed class LogFileSafetyTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("cg-logs-").FullName;
    private readonly string _jobs;
    private readonly string _secret;

    public LogFileSafetyTests()
    {
        _jobs = Path.Combine(_root, "jobs");
        Directory.CreateDirectory(_jobs);
        _secret = Path.Combine(_root, "jwt_hs256.key");
        File.WriteAllText(_secret, "TOP-SECRET-KEY");
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    public static TheoryData<string> Readers => new() { "local", "remote-script" };

    private Task<(string Text, bool Truncated)?> ReadAsync(string reader, string fileName, int maxBytes = 1024, CancellationToken ct = default) =>
        reader == "local"
            ? LocalLogFile.ReadTailAsync(_jobs, fileName, maxBytes, "t", ct)
            : RemoteLogFile.ReadTailAsync(new LocalCommandRunner(new SlurmBackendOptions(), "t"), _jobs, fileName, maxBytes, "t", ct);

    [Theory]
    [MemberData(nameof(Readers))]
    public async Task RegularFile_IsRead(string reader)
    {
        await File.WriteAllTextAsync(Path.Combine(_jobs, "compgrid-1.out"), "hello\n");
        var result = await ReadAsync(reader, "compgrid-1.out");
        Assert.Equal(("hello\n", false), result);
        Assert.Null(await ReadAsync(reader, "compgrid-404.out"));
    }

    [Theory]
    [MemberData(nameof(Readers))]
    public async Task SymlinkToSecret_IsRefusedNotFollowed(string reader)
    {
        File.CreateSymbolicLink(Path.Combine(_jobs, "compgrid-2.out"), _secret);
        var ex = await Assert.ThrowsAsync<CompGridException>(() => ReadAsync(reader, "compgrid-2.out"));
        Assert.Equal("unsafe-log-file", ex.Code);
        Assert.False(ex.IsTransient);
        Assert.DoesNotContain("TOP-SECRET", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Readers))]
    public async Task Fifo_IsRefusedWithoutBlocking(string reader)
    {
        await MkFifoAsync(Path.Combine(_jobs, "compgrid-3.out"));
        // Safety net only: the reader must answer at once, never wait for a writer.
        using var net = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ex = await Assert.ThrowsAsync<CompGridException>(() => ReadAsync(reader, "compgrid-3.out", ct: net.Token));
        Assert.Equal("unsafe-log-file", ex.Code);
        Assert.Contains("regular file", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Readers))]
    public async Task HardLinkToSecret_IsRefused(string reader)
    {
        Assert.Equal(0, await RunAsync("ln", _secret, Path.Combine(_jobs, "compgrid-4.out")));
        var ex = await Assert.ThrowsAsync<CompGridException>(() => ReadAsync(reader, "compgrid-4.out"));
        Assert.Equal("unsafe-log-file", ex.Code);
    }

    [Theory]
    [MemberData(nameof(Readers))]
    public async Task OversizedLog_IsCutToTheTailAndMarked(string reader)
    {
        await File.WriteAllTextAsync(Path.Combine(_jobs, "compgrid-5.out"), new string('x', 100_000) + "THE-END");
        var result = await ReadAsync(reader, "compgrid-5.out", maxBytes: 4096);
        Assert.NotNull(result);
        Assert.True(result!.Value.Truncated);
        Assert.Equal(4096, result.Value.Text.Length);
        Assert.EndsWith("THE-END", result.Value.Text, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Readers))]
    public async Task NameLeavingTheDirectory_IsRefused(string reader)
    {
        foreach (string name in new[] { "../jwt_hs256.key", "..", "sub/x" })
        {
            var ex = await Assert.ThrowsAsync<CompGridException>(() => ReadAsync(reader, name));
            Assert.Equal("unsafe-log-file", ex.Code);
        }
    }

    [Fact]
    public void RemoteScriptArguments_KeepEveryInputOutOfTheScript()
    {
        var args = RemoteLogFile.Arguments("/jobs/$(id)", "a'b; rm -rf /", 10);
        Assert.Equal("-c", args[0]);
        Assert.DoesNotContain("$(id)", args[1], StringComparison.Ordinal);
        Assert.Equal(["compgrid-log", "/jobs/$(id)", "a'b; rm -rf /", "10"], args.Skip(2));
    }

    private static async Task MkFifoAsync(string path) => Assert.Equal(0, await RunAsync("mkfifo", path));

    private static async Task<int> RunAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardError = true };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return p.ExitCode;
    }
}

using System.Diagnostics;
using CompGrid.Slurm.Cli;
using CompGrid.Slurm.Mapping;
using CompGrid.Slurm.Ssh;

namespace CompGrid.Slurm.Tests.Unit;

/// <summary>The batch script and the SSH command line keep hostile text literal — checked by running them in a real shell.</summary>
[Trait("Category", "Slurm")]
public sealed class ScriptAndQuotingTests
{
    private const string Nasty = "a'b\"c $(touch /tmp/cg-pwned) `touch /tmp/cg-pwned` ; echo x \\\n#SBATCH --partition=gpu\nCOMPGRID_BASE64_END\n'\"$HOME%s";

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("--job-name=a,b", "--job-name=a,b")]
    [InlineData("", "''")]
    [InlineData("it's", "'it'\\''s'")]
    [InlineData("$(id)", "'$(id)'")]
    [InlineData("a b", "'a b'")]
    [InlineData("~root", "'~root'")]
    public void Quote_Values_ProducesSingleShellWord(string value, string expected) => Assert.Equal(expected, ShellQuote.Quote(value));

    [Fact]
    public void Quote_Nul_Throws() => Assert.Throws<ArgumentException>(() => ShellQuote.Quote("a\0b"));

    [Fact]
    public async Task Build_CommandWithHostileEnvironment_PrintsValueLiterally()
    {
        string script = BatchScriptBuilder.Build("cg-1", JobPayload.Command("printf '<%s>' \"$CG_VALUE\""),
            new Dictionary<string, string> { ["CG_VALUE"] = Nasty }, null);
        Assert.DoesNotContain("#SBATCH", script.Split('\n').Where(l => l.StartsWith("#SBATCH", StringComparison.Ordinal)));
        var (code, stdout) = await RunBashAsync(script);
        Assert.Equal(0, code);
        Assert.Equal("<" + Nasty + ">", stdout);
        Assert.False(File.Exists("/tmp/cg-pwned"));
    }

    [Fact]
    public async Task Build_ExecutableWithHostileArguments_PassesThemLiterally()
    {
        string script = BatchScriptBuilder.Build("cg-2", JobPayload.Exec("/usr/bin/printf", "[%s]", Nasty, "$(id)", ""), new Dictionary<string, string>(), null);
        var (code, stdout) = await RunBashAsync(script);
        Assert.Equal(0, code);
        Assert.Equal($"[{Nasty}][$(id)][]", stdout);
    }

    [Fact]
    public async Task Build_ScriptContainingTheHeredocMarker_RunsAsWritten()
    {
        string body = "#!/bin/bash\ncat <<'COMPGRID_BASE64_END'\nliteral $(id)\nCOMPGRID_BASE64_END\necho \"job=$COMPGRID_JOB_ID\"\nexit 7\n";
        string script = BatchScriptBuilder.Build("cg-3", JobPayload.FromScript(body), new Dictionary<string, string>(), null);
        var (code, stdout) = await RunBashAsync(script);
        Assert.Equal(7, code);
        Assert.Equal("literal $(id)\njob=cg-3\n", stdout);
    }

    [Fact]
    public async Task Build_ScriptWithInterpreter_RunsIt()
    {
        string script = BatchScriptBuilder.Build("cg-4", JobPayload.FromScript("echo from-sh; exit 2", "/bin/sh"), new Dictionary<string, string>(), null);
        var (code, stdout) = await RunBashAsync(script);
        Assert.Equal(2, code);
        Assert.Equal("from-sh\n", stdout);
    }

    [Fact]
    public async Task Build_JobDirectoryWithSpaces_IsCreatedAndEntered()
    {
        string dir = Path.Combine(Path.GetTempPath(), "cg dir $(id) " + Guid.NewGuid().ToString("N")[..6]);
        try
        {
            string script = BatchScriptBuilder.Build("cg-5", JobPayload.Command("pwd"), new Dictionary<string, string>(), dir);
            var (code, stdout) = await RunBashAsync(script);
            Assert.Equal(0, code);
            Assert.Equal(dir + "\n", stdout);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task SshRemoteCommand_HostileArguments_ReachTheCommandLiterally()
    {
        var runner = new OpenSshCommandRunner(new SlurmBackendOptions { SshHost = "h", SshUser = "u", SshIdentityFile = "k", SshKnownHostsFile = "kh", SshControlPersist = TimeSpan.Zero }, "t");
        string remote = runner.BuildRemoteCommand("printf", ["[%s]", Nasty, "--comment=compgrid:x y"]);
        // The remote side runs the command line through the login shell: do the same here.
        var (code, stdout) = await RunAsync("/bin/sh", ["-c", remote]);
        Assert.Equal(0, code);
        Assert.Equal($"[{Nasty}][--comment=compgrid:x y]", stdout);
    }

    [Fact]
    public void SshArguments_EnforceBatchModeStrictHostKeysAndConnectionReuse()
    {
        var runner = new OpenSshCommandRunner(new SlurmBackendOptions
        {
            SshHost = "login.example.edu", SshUser = "svc", SshPort = 2222, SshIdentityFile = "/keys/id", SshKnownHostsFile = "/keys/known_hosts",
        }, "t");
        var args = runner.BuildArguments("squeue");
        string joined = string.Join(' ', args);
        Assert.Contains("BatchMode=yes", args);
        Assert.Contains("StrictHostKeyChecking=yes", args);
        Assert.Contains("UserKnownHostsFile=/keys/known_hosts", args);
        Assert.Contains("IdentitiesOnly=yes", args);
        Assert.Contains("ControlMaster=auto", args);
        Assert.Contains(args, a => a.StartsWith("ControlPath=", StringComparison.Ordinal));
        Assert.Contains(args, a => a.StartsWith("ControlPersist=", StringComparison.Ordinal));
        Assert.Contains("-p 2222", joined, StringComparison.Ordinal);
        Assert.Equal(["--", "login.example.edu", "squeue"], args.TakeLast(3));
        Assert.StartsWith("env -u SLURM_JWT LC_ALL=C", runner.BuildRemoteCommand("squeue", []), StringComparison.Ordinal);
    }

    private static Task<(int Code, string Stdout)> RunBashAsync(string script) => RunAsync("/bin/bash", ["-c", script]);

    private static async Task<(int Code, string Stdout)> RunAsync(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string stdout = await p.StandardOutput.ReadToEndAsync();
        await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, stdout);
    }
}

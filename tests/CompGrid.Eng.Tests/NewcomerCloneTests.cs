using System.Globalization;

namespace CompGrid.Eng.Tests;

/// <summary>
/// The newcomer path (issue 10 §8): a clone in a folder the service users cannot traverse (as <c>/root/compgrid</c>
/// or any <c>mktemp -d</c> folder) still starts PostgreSQL and Slurm, because eng/lib.sh puts the daemons' state in
/// a per-checkout folder below /var/tmp. The clone is of the committed HEAD; its backends use ports of their own, so
/// they run beside the main run's.
/// </summary>
[Trait("Category", "Eng")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class NewcomerCloneTests
{
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromMinutes(5);

    [RootFact]
    public async Task CloneInPrivateFolder_PostgreSqlAndSlurmStartAnswerAndStopByPid()
    {
        string repo = Checkout.Root;
        DirectoryInfo parent = Directory.CreateTempSubdirectory("compgrid-newcomer-");
        string clone = Path.Combine(parent.FullName, "compgrid");
        var env = CloneEnvironment();
        string? state = null;
        try
        {
            // The precondition the old layout failed on: the folder is 0700 and postgres cannot enter it.
            Assert.Equal(UnixFileMode.None, File.GetUnixFileMode(parent.FullName) & (UnixFileMode.OtherExecute | UnixFileMode.GroupExecute));
            await Check("git", ["clone", "--quiet", "--no-hardlinks", repo, clone], parent.FullName, env);

            state = (await Check("bash", ["eng/state.sh", "path"], clone, env)).Trim();
            Assert.StartsWith("/var/tmp/compgrid-", state, StringComparison.Ordinal);
            Assert.Equal(state, new DirectoryInfo(Path.Combine(clone, ".state")).LinkTarget);

            // PostgreSQL: started from the clone, it answers, and it is this clone's cluster (its data directory).
            await Check("bash", ["eng/backends/postgresql.sh", "start"], clone, env);
            Assert.NotEqual(0, (await Shell.RunAsync("runuser", ["-u", "postgres", "--", "test", "-x", clone], ScriptTimeout)).ExitCode);
            string port = File.ReadAllText(Path.Combine(state, "postgresql", "port")).Trim();
            await Check(PgBin("pg_isready"), ["-h", "127.0.0.1", "-p", port, "-U", "postgres"], clone, env);
            string dataDir = await Check(PgBin("psql"), ["-h", "127.0.0.1", "-p", port, "-U", "postgres", "-d", "compgrid", "-tAc", "SHOW data_directory"], clone, env);
            Assert.Equal(Path.Combine(state, "postgresql", "data"), dataDir.Trim());

            // Slurm: controller answers and the four nodes are up, on this clone's configuration.
            await Check("bash", ["eng/backends/slurm.sh", "start"], clone, env);
            var slurmEnv = new Dictionary<string, string?>(env) { ["SLURM_CONF"] = Path.Combine(state, "slurm", "etc", "slurm.conf") };
            Assert.Contains("UP", await Check("scontrol", ["ping"], clone, slurmEnv), StringComparison.Ordinal);
            string nodes = await Check("sinfo", ["-h", "-N", "-p", "debug", "-o", "%N %T"], clone, slurmEnv);
            Assert.Equal(4, nodes.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0]).Distinct().Count());

            // Stop by pid and remove the state: every daemon recorded in a pid file is gone, and so is the folder.
            var pids = Directory.GetFiles(Path.Combine(state, "run"), "*.pid")
                .ToDictionary(f => Path.GetFileNameWithoutExtension(f)!, f => int.Parse(File.ReadAllText(f).Trim(), CultureInfo.InvariantCulture));
            Assert.Contains("postgresql", pids.Keys);
            Assert.Contains("slurm-slurmctld", pids.Keys);
            await Check("bash", ["eng/state.sh", "clean"], clone, env);
            Assert.Empty(pids.Where(p => Shell.IsAlive(p.Value)).Select(p => $"{p.Key} ({p.Value})"));
            Assert.False(Directory.Exists(state));
            state = null;
        }
        finally
        {
            if (state is not null && Directory.Exists(clone)) await Shell.RunAsync("bash", ["eng/state.sh", "clean"], ScriptTimeout, clone, env);
            parent.Delete(recursive: true);
        }
    }

    /// <summary>The clone's scripts choose their own state; their Slurm and PostgreSQL ports avoid the main run's.</summary>
    private static Dictionary<string, string?> CloneEnvironment()
    {
        var env = new Dictionary<string, string?>();
        foreach (string key in Environment.GetEnvironmentVariables().Keys.Cast<string>())
        {
            if (key.StartsWith("COMPGRID_", StringComparison.Ordinal) || key.StartsWith("SLURM_", StringComparison.Ordinal))
                env[key] = null;
        }

        env["COMPGRID_SLURM_CTLD_PORT"] = Port(Shell.FreePort());
        env["COMPGRID_SLURM_DBD_PORT"] = Port(Shell.FreePort());
        env["COMPGRID_SLURM_DB_PORT"] = Port(Shell.FreePort());
        env["COMPGRID_SLURM_REST_PORT"] = Port(Shell.FreePort());
        env["COMPGRID_SLURM_SSH_PORT"] = Port(Shell.FreePort());
        env["COMPGRID_SLURM_NODE_PORT_BASE"] = Port(Shell.FreePortRange(27000, 4));
        // postgresql.sh takes the first free port from 55432 by itself.
        return env;
    }

    private static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);

    private static async Task<string> Check(string program, string[] arguments, string workingDirectory, IReadOnlyDictionary<string, string?> env)
    {
        var result = await Shell.RunAsync(program, arguments, ScriptTimeout, workingDirectory, env);
        Assert.True(result.ExitCode == 0, $"{program} {string.Join(' ', arguments)} (in {workingDirectory}) failed: {result}");
        return result.Output;
    }

    private static string PgBin(string name) =>
        Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin", name)).FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException($"no {name} below /usr/lib/postgresql: postgresql.sh installs it");
}

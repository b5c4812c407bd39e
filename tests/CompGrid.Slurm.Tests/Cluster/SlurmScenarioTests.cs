using System.Globalization;
using CompGrid.Slurm.Tests.Cluster;

namespace CompGrid.Slurm.Tests;

/// <summary>
/// The issue's scenarios on a real cluster: multi-node, GPU, OOM, exit codes, cancel, accounting, injection, errors.
/// Run against each Slurm release (the class name says which) over REST (newest dialect, discovered), SSH.NET and OpenSSH.
/// </summary>
public abstract class SlurmScenarioTestsBase(SlurmCluster cluster, IComputeBackend rest, IComputeBackend ssh, IComputeBackend openSsh)
{
    protected SlurmCluster Cluster { get; } = cluster;

    // Transports by name in the test names: REST, the CLI over SSH.NET or over OpenSSH (the local CLI: 22.05 only).
    protected virtual IComputeBackend Backend(string transport) => transport switch
    {
        "rest" => rest,
        "ssh.net" => ssh,
        "openssh" => openSsh,
        _ => throw new ArgumentOutOfRangeException(nameof(transport), transport, null),
    };

    [Fact]
    public async Task Submit_ThreeNodeJob_RunsOnThreeNodes()
    {
        var spec = JobRunner.Spec("three-nodes", JobPayload.Command("srun printenv SLURMD_NODENAME | sort")) with
        {
            Resources = new() { Cpus = 1, MemoryMiB = 64, Nodes = 3 },
        };
        var (_, id) = await JobRunner.SubmitAsync(ssh, spec);
        var status = await JobRunner.WaitTerminalAsync(ssh, id);
        Assert.Equal(JobState.Completed, status.State);
        Assert.Equal(3, status.Nodes.Distinct().Count());
        var logs = await JobRunner.WaitForLogsAsync(ssh, id, status.Nodes[2]);
        var printed = logs.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Distinct().Order().ToList();
        Assert.Equal(status.Nodes.Order().ToList(), printed);
        var acct = await JobRunner.SacctAsync(Cluster, id, "NNodes,NCPUS,End");
        Assert.Equal("3", acct["NNodes"]);
    }

    [Fact]
    public async Task Submit_GpuJob_LandsOnGpuPartitionWithGres()
    {
        var spec = JobRunner.Spec("gpu", JobPayload.Command("echo gpus=$CUDA_VISIBLE_DEVICES")) with
        {
            Resources = new() { Cpus = 1, MemoryMiB = 64, Gpus = 1 },
        };
        var (jobId, id) = await JobRunner.SubmitAsync(rest, spec);
        var status = await JobRunner.WaitTerminalAsync(rest, id);
        Assert.Equal(JobState.Completed, status.State);
        Assert.Contains(Assert.Single(status.Nodes), Cluster.GpuNodes);
        var logs = await JobRunner.WaitForLogsAsync(rest, id, "gpus=");
        Assert.Matches("gpus=[01]", logs.StandardOutput);
        var usage = await rest.GetUsageAsync(id);
        Assert.NotNull(usage);
        Assert.Equal(jobId, usage!.JobId);
        Assert.Equal("gpu", usage.Partition);
        Assert.Equal(1, usage.AllocatedGpus);
        var acct = await JobRunner.SacctAsync(Cluster, id, "Partition,AllocTRES,End");
        Assert.Equal("gpu", acct["Partition"]);
        Assert.Contains("gres/gpu=1", acct["AllocTRES"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_OverMemory_EndsOutOfMemory()
    {
        // tail keeps an unterminated line in memory: 400 MB against a 64 MiB cgroup limit.
        var spec = JobRunner.Spec("oom", JobPayload.Command("head -c 400000000 /dev/zero | tail > /dev/null; echo survived"));
        var (_, id) = await JobRunner.SubmitAsync(ssh, spec);
        var status = await JobRunner.WaitTerminalAsync(ssh, id);
        Assert.Equal(JobState.OutOfMemory, status.State);
        var usage = await ssh.GetUsageAsync(id);
        Assert.Equal(JobState.OutOfMemory, usage!.FinalState);
    }

    [Fact]
    public async Task Submit_ExitThreeOverRest_UsageKeepsExitCodeThree()
    {
        // 22.05's REST accounting reports exit 0 for every normal exit; the backend takes slurmctld's code.
        var (_, id) = await JobRunner.SubmitAsync(rest, JobRunner.Spec("exit3", JobPayload.Command("exit 3")));
        var status = await JobRunner.WaitTerminalAsync(rest, id);
        Assert.Equal(JobState.Failed, status.State);
        Assert.Equal(3, status.ExitCode);
        var usage = await rest.GetUsageAsync(id);
        Assert.Equal(3, usage!.ExitCode);
    }

    [Theory]
    [InlineData("rest")]
    [InlineData("ssh.net")]
    [InlineData("openssh")]
    public async Task GetUsage_MatchesSacct_ElapsedCpusMemoryGpus(string transport)
    {
        var backend = Backend(transport);
        var spec = JobRunner.Spec("metered", JobPayload.Command("sleep 2")) with
        {
            Account = "GR-PHYS-1", // mapped to the Slurm account "physics"
            Resources = new() { Cpus = 2, MemoryMiB = 300, Gpus = 1 },
        };
        var (jobId, id) = await JobRunner.SubmitAsync(backend, spec);
        await JobRunner.WaitTerminalAsync(backend, id);
        var usage = await backend.GetUsageAsync(id);
        var acct = await JobRunner.SacctAsync(Cluster, id, "ElapsedRaw,NCPUS,NNodes,AllocTRES,Account,User,State,ExitCode,End");
        var tres = acct["AllocTRES"].Split(',').Select(t => t.Split('=')).ToDictionary(t => t[0], t => t[1]);

        Assert.NotNull(usage);
        Assert.Equal(jobId, usage!.JobId);
        Assert.Equal(JobState.Completed, usage.FinalState);
        Assert.Equal(0, usage.ExitCode);
        Assert.Equal(long.Parse(acct["ElapsedRaw"], CultureInfo.InvariantCulture), (long)usage.Elapsed.TotalSeconds);
        Assert.True(usage.Elapsed >= TimeSpan.FromSeconds(1));
        Assert.Equal(int.Parse(acct["NCPUS"], CultureInfo.InvariantCulture), usage.AllocatedCpus);
        Assert.Equal(2, usage.AllocatedCpus);
        Assert.Equal(long.Parse(tres["mem"].TrimEnd('M'), CultureInfo.InvariantCulture), usage.AllocatedMemoryMiB);
        Assert.Equal(300, usage.AllocatedMemoryMiB);
        Assert.Equal(int.Parse(tres["gres/gpu"], CultureInfo.InvariantCulture), usage.AllocatedGpus);
        Assert.Equal(decimal.Parse(tres["billing"], CultureInfo.InvariantCulture), usage.Tres["billing"]);
        Assert.Equal(int.Parse(acct["NNodes"], CultureInfo.InvariantCulture), usage.NodeCount);
        Assert.Equal("physics", usage.Account);
        Assert.Equal(acct["Account"], usage.Account);
        Assert.Equal(SlurmCluster.TestUser, usage.User);
        Assert.Single(usage.Nodes);
    }

    [Theory]
    [InlineData("rest")]
    [InlineData("ssh.net")]
    [InlineData("openssh")]
    public async Task Submit_InjectionAttempts_AreInert(string transport)
    {
        var backend = Backend(transport);
        string jobs = Cluster.Env("COMPGRID_SLURM_JOBS_DIR");
        string marker = Path.Combine(jobs, "pwned-" + Guid.NewGuid().ToString("N")[..8]);
        string nasty = $"a'b\"c $(touch {marker}) `touch {marker}` ; touch {marker} \\\n#SBATCH --partition=gpu\nCOMPGRID_BASE64_END\n'\"";
        var spec = JobRunner.Spec($"x\"; touch {marker}; echo \"\n#SBATCH --partition=gpu", JobPayload.Command("printf '<%s>' \"$CG_VALUE\"")) with
        {
            Environment = new Dictionary<string, string> { ["CG_VALUE"] = nasty },
        };
        var (_, id) = await JobRunner.SubmitAsync(backend, spec);
        var status = await JobRunner.WaitTerminalAsync(backend, id);
        Assert.Equal(JobState.Completed, status.State);
        var logs = await JobRunner.WaitForLogsAsync(backend, id, ">");
        Assert.Equal("<" + nasty + ">", logs.StandardOutput);

        // Arguments of an executable are passed literally; a script runs as written (its #SBATCH lines are inert).
        var exec = JobRunner.Spec("exec", JobPayload.Exec("/usr/bin/printf", "[%s]", nasty, "$(id)"));
        var (_, execId) = await JobRunner.SubmitAsync(backend, exec);
        Assert.Equal(JobState.Completed, (await JobRunner.WaitTerminalAsync(backend, execId)).State);
        Assert.Equal($"[{nasty}][$(id)]", (await JobRunner.WaitForLogsAsync(backend, execId, "[$(id)]")).StandardOutput);

        string script = "#!/bin/bash\n#SBATCH --partition=gpu\ncat <<'COMPGRID_BASE64_END'\nliteral $(id) `id`\nCOMPGRID_BASE64_END\necho done\n";
        var (_, scriptId) = await JobRunner.SubmitAsync(backend, JobRunner.Spec("script", JobPayload.FromScript(script)));
        Assert.Equal(JobState.Completed, (await JobRunner.WaitTerminalAsync(backend, scriptId)).State);
        Assert.Equal("literal $(id) `id`\ndone\n", (await JobRunner.WaitForLogsAsync(backend, scriptId, "done")).StandardOutput);

        Assert.False(File.Exists(marker), "an injected command ran");
        foreach (string j in new[] { id, execId, scriptId })
            Assert.Equal("debug", (await JobRunner.SacctAsync(Cluster, j, "Partition,End"))["Partition"]);
    }

    [Theory]
    [InlineData("rest")]
    [InlineData("ssh.net")]
    [InlineData("openssh")]
    public async Task Submit_UnknownAccount_ThrowsNonTransientWithCode(string transport)
    {
        var backend = Backend(transport);
        var ex = await Assert.ThrowsAnyAsync<CompGridException>(() =>
            JobRunner.SubmitAsync(backend, JobRunner.Spec("bad-account", JobPayload.Command("true")) with { Account = "nosuchaccount" }));
        Assert.False(ex.IsTransient);
        Assert.Equal("invalid-account", ex.Code);
        Assert.Equal("submit", ex.Operation);
    }

    [Fact]
    public async Task Submit_UnknownPartition_ThrowsInvalidPartition()
    {
        var spec = JobRunner.Spec("bad-partition", JobPayload.Command("true")) with { Constraints = new() { Partition = "nosuchpartition" } };
        var ex = await Assert.ThrowsAnyAsync<CompGridException>(() => JobRunner.SubmitAsync(ssh, spec));
        Assert.False(ex.IsTransient);
        Assert.Equal("invalid-partition", ex.Code);
    }

    [Theory]
    [InlineData("rest")]
    [InlineData("ssh.net")]
    [InlineData("openssh")]
    public async Task GetNodes_ReportsAllNodesWithPartitionsAndGpus(string transport)
    {
        var backend = Backend(transport);
        var nodes = await backend.GetNodesAsync();
        Assert.Equal(Cluster.Nodes, nodes.Select(n => n.Name).Order());
        Assert.All(nodes, n =>
        {
            Assert.Equal(2, n.Capacity.Cpus);
            Assert.Equal(4000, n.Capacity.MemoryMiB);
            Assert.Equal(2, n.Capacity.Gpus);
            Assert.Contains("debug", n.Partitions);
            Assert.NotEqual(NodeState.Down, n.State);
        });
        Assert.Equal(Cluster.GpuNodes, nodes.Where(n => n.Partitions.Contains("gpu")).Select(n => n.Name).Order());
    }

    [Fact]
    public async Task Rest_TokensMintedFromJwtKey_Work()
    {
        var options = Cluster.RestOptions();
        options.TokenFile = null;
        options.JwtKeyFile = Cluster.Env("COMPGRID_SLURM_JWT_KEY_FILE");
        options.TokenLifetime = TimeSpan.FromMinutes(5);
        await using var backend = (IAsyncDisposable)SlurmBackend.Create("campus-minted", options);
        var nodes = await ((IComputeBackend)backend).GetNodesAsync();
        Assert.Equal(Cluster.Nodes.Count, nodes.Count);
        var (_, id) = await JobRunner.SubmitAsync((IComputeBackend)backend, JobRunner.Spec("minted", JobPayload.Command("id -un")));
        Assert.Equal(JobState.Completed, (await JobRunner.WaitTerminalAsync((IComputeBackend)backend, id)).State);
        Assert.Equal(SlurmCluster.TestUser + "\n", (await JobRunner.WaitForLogsAsync((IComputeBackend)backend, id, SlurmCluster.TestUser)).StandardOutput);
    }

    [Theory]
    [InlineData(SshClientKind.SshNet)]
    [InlineData(SshClientKind.OpenSsh)]
    public async Task Ssh_WrongKnownHosts_FailsWithHostKeyError(SshClientKind client)
    {
        string knownHosts = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(knownHosts, $"[127.0.0.1]:{Cluster.Env("COMPGRID_SLURM_SSH_PORT")} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDf0tGxZ0X9I7b3kRyZpP8yN0q2mO3w3yD7qZ7ZcNnZk\n");
            var options = Cluster.SshOptions(client);
            options.SshKnownHostsFile = knownHosts;
            options.SshControlPersist = TimeSpan.Zero;
            var backend = SlurmBackend.Create("campus-badhost", options);
            var ex = await Assert.ThrowsAnyAsync<CompGridException>(() => backend.GetNodesAsync());
            Assert.Equal("ssh-host-key", ex.Code);
            Assert.False(ex.IsTransient);
        }
        finally
        {
            File.Delete(knownHosts);
        }
    }
}

/// <summary>The scenarios on Slurm 22.05 (REST v0.0.38), plus the local CLI transport this host can run.</summary>
[Trait("Category", "Slurm")]
[RequiresBackend(SlurmCluster.Name, SlurmCluster.UrlVariable)]
[Collection("SlurmScenarios")]
public sealed class SlurmScenarioTests(SlurmRestFixture rest, SlurmSshFixture ssh, SlurmOpenSshFixture openSsh, SlurmCliFixture cliFixture)
    : SlurmScenarioTestsBase(SlurmCluster.V2205, rest.Backend, ssh.Backend, openSsh.Backend)
{
    private readonly IComputeBackend _cli = cliFixture.Backend;

    protected override IComputeBackend Backend(string transport) => transport == "cli" ? _cli : base.Backend(transport);

    [Fact]
    public async Task Submit_ExitThreeOverLocalCli_FailsWithExitCodeThree()
    {
        var (_, id) = await JobRunner.SubmitAsync(_cli, JobRunner.Spec("exit3", JobPayload.Command("exit 3")));
        var status = await JobRunner.WaitTerminalAsync(_cli, id);
        Assert.Equal(JobState.Failed, status.State);
        Assert.Equal(3, status.ExitCode);
        var usage = await _cli.GetUsageAsync(id);
        Assert.Equal(3, usage!.ExitCode);
        Assert.Equal(JobState.Failed, usage.FinalState);
    }

    [Fact]
    public async Task Cancel_RunningJobOverLocalCli_EndsCancelled()
    {
        var (_, id) = await JobRunner.SubmitAsync(_cli, JobRunner.Spec("cancel-me", JobPayload.Command("sleep 300")));
        await JobRunner.WaitAsync(_cli, id, s => s == JobState.Running);
        await _cli.CancelAsync(id);
        var status = await JobRunner.WaitTerminalAsync(_cli, id);
        Assert.Equal(JobState.Cancelled, status.State);
        var usage = await _cli.GetUsageAsync(id);
        Assert.Equal(JobState.Cancelled, usage!.FinalState);
    }

    [Fact]
    public async Task GetNodes_OverLocalCli_ReportsFourNodes()
    {
        var nodes = await _cli.GetNodesAsync();
        Assert.Equal(Cluster.Nodes, nodes.Select(n => n.Name).Order());
        Assert.All(nodes, n => Assert.Equal(2, n.Capacity.Gpus));
    }
}

/// <summary>The same scenarios on Slurm 24.11 (REST v0.0.42 by discovery; the CLI over SSH reads 24.11's output).</summary>
[Trait("Category", "Slurm24")]
[RequiresBackend(SlurmCluster.Name2411, SlurmCluster.Url2411Variable)]
[Collection("Slurm2411Scenarios")]
public sealed class Slurm2411ScenarioTests(Slurm2411RestFixture rest, Slurm2411SshFixture ssh, Slurm2411OpenSshFixture openSsh)
    : SlurmScenarioTestsBase(SlurmCluster.V2411, rest.Backend, ssh.Backend, openSsh.Backend);

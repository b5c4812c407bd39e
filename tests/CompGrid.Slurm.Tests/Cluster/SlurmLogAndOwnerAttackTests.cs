using CompGrid.Slurm.Tests.Cluster;

namespace CompGrid.Slurm.Tests;

/// <summary>
/// Issue 9 §4 on the real cluster: jobs that attack the portal through their own output files, and submissions that
/// try to run as someone the portal never mapped, or as root. Each test is named after its attack.
/// </summary>
[Trait("Category", "Slurm")]
[RequiresBackend(SlurmCluster.Name, SlurmCluster.UrlVariable)]
[Collection("SlurmScenarios")]
public sealed class SlurmLogAndOwnerAttackTests(SlurmRestFixture rest, SlurmSshFixture ssh, SlurmOpenSshFixture openSsh, SlurmCliFixture cli)
{
    private static string JobsDir => SlurmCluster.V2205.Env("COMPGRID_SLURM_JOBS_DIR");

    private static string JwtKey => SlurmCluster.V2205.Env("COMPGRID_SLURM_JWT_KEY_FILE");

    // "rest" reads logs on this (portal) host, as root: the case the attack was reported against.
    private IComputeBackend Backend(string transport) => transport switch
    {
        "rest" => rest.Backend,
        "ssh.net" => ssh.Backend,
        "openssh" => openSsh.Backend,
        _ => cli.Backend,
    };

    private static JobSpec AttackSpec(string name, string command) => JobRunner.Spec(name, JobPayload.Command(command)) with
    {
        Environment = new Dictionary<string, string> { ["CG_JOBS"] = JobsDir, ["CG_KEY"] = JwtKey },
    };

    [Theory]
    [InlineData("rest")]
    [InlineData("ssh.net")]
    [InlineData("openssh")]
    [InlineData("cli")]
    public async Task Logs_JobReplacesItsOutWithSymlinkToJwtKey_GetsNoKeyBack(string transport)
    {
        var backend = Backend(transport);
        var (_, id) = await JobRunner.SubmitAsync(backend, AttackSpec("symlink-attack",
            "echo before; ln -sf \"$CG_KEY\" \"$CG_JOBS/compgrid-$SLURM_JOB_ID.out\""));
        Assert.Equal(JobState.Completed, (await JobRunner.WaitTerminalAsync(backend, id)).State);
        string outFile = Path.Combine(JobsDir, $"compgrid-{id}.out");
        Assert.Equal(JwtKey, new FileInfo(outFile).LinkTarget); // the attack happened

        var ex = await Assert.ThrowsAnyAsync<CompGridException>(() => backend.GetLogsAsync(id));
        Assert.Equal("unsafe-log-file", ex.Code);
        Assert.False(ex.IsTransient);
        byte[] key = await File.ReadAllBytesAsync(JwtKey);
        Assert.DoesNotContain(Convert.ToBase64String(key), ex.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(System.Text.Encoding.Latin1.GetString(key), ex.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("rest")]
    [InlineData("ssh.net")]
    [InlineData("openssh")]
    public async Task Logs_JobReplacesItsOutWithFifo_ReturnsErrorWithoutBlocking(string transport)
    {
        var backend = Backend(transport);
        var (_, id) = await JobRunner.SubmitAsync(backend, AttackSpec("fifo-attack",
            "out=\"$CG_JOBS/compgrid-$SLURM_JOB_ID.out\"; rm -f \"$out\"; mkfifo -m 666 \"$out\""));
        Assert.Equal(JobState.Completed, (await JobRunner.WaitTerminalAsync(backend, id)).State);

        // The call must come back with an error by itself; the token only keeps a regression from hanging the run.
        using var safetyNet = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var ex = await Assert.ThrowsAnyAsync<CompGridException>(() => backend.GetLogsAsync(id, safetyNet.Token));
        Assert.False(safetyNet.IsCancellationRequested, "the logs call waited on the FIFO");
        Assert.Equal("unsafe-log-file", ex.Code);
        Assert.Contains("regular file", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("rest")]
    [InlineData("ssh.net")]
    [InlineData("openssh")]
    public async Task Logs_JobFloodsItsOutput_IsCutToMaxLogBytesAndMarked(string transport)
    {
        var options = transport switch
        {
            "rest" => SlurmCluster.V2205.RestOptions(),
            "ssh.net" => SlurmCluster.V2205.SshOptions(SshClientKind.SshNet),
            _ => SlurmCluster.V2205.SshOptions(SshClientKind.OpenSsh),
        };
        options.MaxLogBytes = 4096;
        await using var owned = (IAsyncDisposable)SlurmBackend.Create("campus-capped-" + transport, options);
        var backend = (IComputeBackend)owned;
        var (_, id) = await JobRunner.SubmitAsync(backend, JobRunner.Spec("flood",
            JobPayload.Command("head -c 3000000 /dev/zero | tr '\\0' x; echo; echo THE-END")));
        Assert.Equal(JobState.Completed, (await JobRunner.WaitTerminalAsync(backend, id)).State);
        var logs = await JobRunner.WaitForLogsAsync(backend, id, "THE-END");
        Assert.True(logs.Truncated);
        Assert.Equal(4096, logs.StandardOutput.Length);
        Assert.EndsWith("x\nTHE-END\n", logs.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SubmitAsJobOwner_OwnerWithoutMapping_IsRefusedAndNothingSubmitted()
    {
        // The REST fixture maps only cgtest; "research" is a real Slurm account name but not a mapped portal user.
        var spec = JobRunner.Spec("unmapped", JobPayload.Command("id -un")) with { Owner = "mallory" };
        var ex = await Assert.ThrowsAsync<JobValidationException>(() => JobRunner.SubmitAsync(rest.Backend, spec));
        Assert.Contains(ex.Errors, e => e.Field == "owner" && e.Message.Contains("UserMapping", StringComparison.Ordinal));
        await AssertNoJobNamedAsync("unmapped");
    }

    [Fact]
    public async Task SubmitAsJobOwner_MappingToRoot_IsRefusedAtStartAndAtSubmit()
    {
        var atStart = SlurmCluster.V2205.RestOptions();
        atStart.UserMapping[SlurmCluster.TestUser] = "root";
        var startError = Assert.Throws<ArgumentException>(() => SlurmBackend.Create("campus-root", atStart));
        Assert.Contains("never submitted as root", startError.Message, StringComparison.Ordinal);

        // Options changed after validation (a reloaded configuration): the submit path refuses on its own.
        var later = SlurmCluster.V2205.RestOptions();
        await using var owned = (IAsyncDisposable)SlurmBackend.Create("campus-root-later", later);
        later.UserMapping[SlurmCluster.TestUser] = "0";
        var ex = await Assert.ThrowsAsync<JobValidationException>(() =>
            JobRunner.SubmitAsync((IComputeBackend)owned, JobRunner.Spec("as-root", JobPayload.Command("id -u"))));
        Assert.Contains(ex.Errors, e => e.Field == "owner" && e.Message.Contains("never submitted as root", StringComparison.Ordinal));
        await AssertNoJobNamedAsync("as-root");
    }

    private static async Task AssertNoJobNamedAsync(string name)
    {
        string names = await SlurmCluster.V2205.RunAsync("squeue", "-h", "-a", "-t", "all", "-o", "%j");
        Assert.DoesNotContain(names.Split('\n', StringSplitOptions.TrimEntries), n => n == name);
        string accounted = await SlurmCluster.V2205.RunAsync("sacct", "-n", "-a", "-X", "-P", "-S", "now-1hours", "-o", "JobName");
        Assert.DoesNotContain(accounted.Split('\n', StringSplitOptions.TrimEntries), n => n == name);
    }
}

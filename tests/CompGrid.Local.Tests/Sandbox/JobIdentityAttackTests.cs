using System.Globalization;

namespace CompGrid.Local.Tests.Sandbox;

/// <summary>Who a job runs as, and what it can read: the attacks of issue 9 on the Local backend's identity.</summary>
[Trait("Category", "Local")]
[Collection(SandboxCollection.Name)]
public sealed class JobIdentityAttackTests(SandboxFixture fixture)
{
    [SandboxFact]
    public async Task IdU_OfALocalJob_IsNotRoot()
    {
        var id = await Jobs.SubmitAsync(fixture.Backend, "id -u; id -g; id -G");
        var status = await Jobs.WaitTerminalAsync(fixture.Backend, id);
        Assert.Equal(JobState.Completed, status.State);
        var ids = (await fixture.Backend.GetLogsAsync(id)).StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        uint uid = uint.Parse(ids[0], CultureInfo.InvariantCulture);
        Assert.NotEqual(0u, uid);
        Assert.InRange(uid, 1_500_000u, 1_500_999u); // a uid of its own from JobUserIds
        Assert.Equal(ids[0], ids[1]);
        Assert.Equal(ids[0], ids[2]); // no supplementary groups (not root's)
    }

    [SandboxFact]
    public async Task IdU_WithTheDefaultRunAsUser_IsNobody()
    {
        using var backend = fixture.Create(new SandboxOptions(PerJobUids: false, StateDirectory: Path.Combine(fixture.Root, "default-user")));
        var id = await Jobs.SubmitAsync(backend, "id -u; id -un");
        Assert.Equal(JobState.Completed, (await Jobs.WaitTerminalAsync(backend, id)).State);
        Assert.Equal("65534\nnobody\n", (await backend.GetLogsAsync(id)).StandardOutput);
    }

    [SandboxFact]
    public async Task SetuidBinary_DoesNotRegainRoot()
    {
        // su and passwd are setuid root; no_new_privs keeps the job's uid whatever it executes.
        var id = await Jobs.SubmitAsync(fixture.Backend, "grep NoNewPrivs /proc/self/status; grep CapEff /proc/self/status");
        await Jobs.WaitTerminalAsync(fixture.Backend, id);
        string output = (await fixture.Backend.GetLogsAsync(id)).StandardOutput;
        Assert.Contains("NoNewPrivs:\t1", output, StringComparison.Ordinal);
        Assert.Contains("CapEff:\t0000000000000000", output, StringComparison.Ordinal);
    }

    [SandboxFact]
    public void RunAsRoot_WithoutAllowRunAsRoot_IsRefusedAtStartUp()
    {
        var ex = Assert.Throws<CompGridException>(() => LocalBackend.Create("rooty", new LocalBackendOptions { StateDirectory = Path.Combine(fixture.Root, "rooty"), RunAsUser = "root" }));
        Assert.Contains("RunAsUser", ex.Message, StringComparison.Ordinal);
        Assert.Contains("AllowRunAsRoot", ex.Message, StringComparison.Ordinal);
        var unknown = Assert.Throws<CompGridException>(() => LocalBackend.Create("ghost", new LocalBackendOptions { StateDirectory = Path.Combine(fixture.Root, "ghost"), OwnerAccounts = { ["alice"] = "no-such-account" } }));
        Assert.Contains("OwnerAccounts[alice]", unknown.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(fixture.Root, "rooty")), "a refused configuration changes nothing");
    }

    [SandboxFact]
    public void TwoBackendsSharingAUidRange_NeverLeaseTheSameUid()
    {
        // Two portals (or two backends of one) configured with the same range: before either job starts no process of
        // the uid exists, so only the machine-wide lease keeps them apart (a CI job once died of the other's clean-up).
        var options = new LocalBackendOptions { JobUserIds = "1501000-1501002" };
        var first = new CompGrid.Local.Sandbox.JobIdentities("a", options);
        var second = new CompGrid.Local.Sandbox.JobIdentities("b", options);
        var a = first.For("alice", "cg-a")!;
        var b = second.For("bob", "cg-b")!;
        Assert.NotEqual(a.Uid, b.Uid);
        first.Release(a.Uid, "cg-a");
        var c = second.For("carol", "cg-c")!; // the released id is free again for the other backend
        Assert.NotEqual(b.Uid, c.Uid);
        second.Release(b.Uid, "cg-b");
        second.Release(c.Uid, "cg-c");
    }

    [SandboxFact]
    public void OwnerMappedToRoot_JobIsRefusedWhenItWouldStart()
    {
        // The start-up validator refuses this too; the check is repeated where the job would start.
        var identities = new CompGrid.Local.Sandbox.JobIdentities("local", new LocalBackendOptions { OwnerAccounts = { ["mallory"] = "root" } });
        var ex = Assert.Throws<CompGridException>(() => identities.For("mallory", "cg-1"));
        Assert.Contains("OwnerAccounts[mallory]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("AllowRunAsRoot", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0u, new CompGrid.Local.Sandbox.JobIdentities("local", new LocalBackendOptions { RunAsUser = "root", AllowRunAsRoot = true }).For("root-ok", "cg-2")!.Uid);
    }

    [SandboxFact]
    public async Task JobReadingThePortalDatabase_IsDenied()
    {
        var id = await Jobs.SubmitAsync(fixture.Backend,
            $"cat '{fixture.DatabaseFile}' && echo READ-DB; ls '{fixture.PortalDirectory}' && echo LISTED-PORTAL; " +
            $"ls '{fixture.StateDirectory}' && echo LISTED-STATE; ls '{fixture.StateDirectory}/supervisor' && echo LISTED-SUPERVISOR; ls '{fixture.StateDirectory}/jobs' && echo LISTED-JOBS; exit 0");
        await Jobs.WaitTerminalAsync(fixture.Backend, id);
        var logs = await fixture.Backend.GetLogsAsync(id);
        Assert.DoesNotContain("alice-lab", logs.StandardOutput, StringComparison.Ordinal);
        foreach (string marker in (string[])["READ-DB", "LISTED-PORTAL", "LISTED-STATE", "LISTED-SUPERVISOR", "LISTED-JOBS"])
            Assert.DoesNotContain(marker, logs.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Permission denied", logs.StandardError, StringComparison.Ordinal);
    }

    [SandboxFact]
    public async Task StagingThePortalDatabaseAsAnInput_IsRefused()
    {
        // Inputs are copied as the job's account: the portal's files are no more reachable this way than from the job.
        string id = "cg-sb-" + Guid.NewGuid().ToString("N")[..12];
        var spec = new JobSpec
        {
            Name = "stage", Owner = "bob", Payload = JobPayload.Command("cat db"),
            Inputs = [new StagingItem { Source = fixture.DatabaseFile, Destination = "db" }],
        };
        var ex = await Assert.ThrowsAsync<CompGridException>(() => fixture.Backend.SubmitAsync(new BackendJobRequest { JobId = id, Spec = spec, Nodes = ["n1"], MemoryMiBPerNode = 64, Walltime = TimeSpan.FromMinutes(1) }));
        Assert.Contains("inputs", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Permission denied", ex.Message, StringComparison.Ordinal);
        Assert.Null(await fixture.Backend.GetStatusAsync(id));
        Assert.False(Directory.Exists(Path.Combine(fixture.StateDirectory, "jobs", id)), "nothing of the refused job is left");
    }

    [SandboxFact]
    public async Task JobReadingAnotherJobsDirectory_IsDenied_EvenForTheSameOwner()
    {
        // The victim keeps a secret in its working directory and stays up until told to go.
        var victim = await Jobs.SubmitAsync(fixture.Backend, "echo s3cret > secret; echo $$ > ready; while [ ! -e go ]; do sleep 0.05; done");
        string victimWork = Jobs.WorkDir(fixture.StateDirectory, victim);
        int victimPid = int.Parse(await Jobs.WaitForFileAsync(Path.Combine(victimWork, "ready")), CultureInfo.InvariantCulture);
        var thief = await Jobs.SubmitAsync(fixture.Backend,
            $"cat '{victimWork}/secret'; ls '{victimWork}' && echo LISTED; cat /proc/{victimPid}/environ && echo ENVIRON; ls -l /proc/{victimPid}/cwd/ && echo CWD; kill -STOP {victimPid} && echo SIGNALLED; exit 0");
        await Jobs.WaitTerminalAsync(fixture.Backend, thief);
        var logs = await fixture.Backend.GetLogsAsync(thief);
        Assert.DoesNotContain("s3cret", logs.StandardOutput, StringComparison.Ordinal);
        foreach (string marker in (string[])["LISTED", "ENVIRON", "CWD", "SIGNALLED"])
            Assert.DoesNotContain(marker, logs.StandardOutput, StringComparison.Ordinal);
        await File.WriteAllTextAsync(Path.Combine(victimWork, "go"), "");
        Assert.Equal(JobState.Completed, (await Jobs.WaitTerminalAsync(fixture.Backend, victim)).State);
    }

    [SandboxFact]
    public async Task WorkingDirectory_IsPrivateToTheJob()
    {
        var id = await Jobs.SubmitAsync(fixture.Backend, "stat -c '%a %u' . ..; echo done > ready; while [ ! -e go ]; do sleep 0.05; done");
        string work = Jobs.WorkDir(fixture.StateDirectory, id);
        await Jobs.WaitForFileAsync(Path.Combine(work, "ready"));
        await File.WriteAllTextAsync(Path.Combine(work, "go"), "");
        await Jobs.WaitTerminalAsync(fixture.Backend, id);
        var lines = (await fixture.Backend.GetLogsAsync(id)).StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("700 15", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("700 15", lines[1], StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(fixture.StateDirectory, "supervisor")));
    }
}

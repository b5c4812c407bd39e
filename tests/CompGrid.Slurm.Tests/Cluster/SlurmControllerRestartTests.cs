using CompGrid.Slurm.Tests.Cluster;

namespace CompGrid.Slurm.Tests;

/// <summary>slurmctld stopped and started while jobs run: the jobs are still tracked to their real end.</summary>
[Trait("Category", "Slurm")]
[RequiresBackend(SlurmCluster.Name, SlurmCluster.UrlVariable)]
[Collection("SlurmControllerRestart")]
public sealed class SlurmControllerRestartTests(SlurmSshFixture ssh, SlurmOpenSshFixture openSsh, SlurmRestFixture rest)
{
    [Fact]
    public async Task ControllerRestart_DuringRunningJobs_JobsTrackedToTheirEnd()
    {
        var (_, sshJob) = await JobRunner.SubmitAsync(ssh.Backend, JobRunner.Spec("survivor-ssh", JobPayload.Command("sleep 20; exit 4")));
        var (_, restJob) = await JobRunner.SubmitAsync(rest.Backend, JobRunner.Spec("survivor-rest", JobPayload.Command("sleep 20; echo ok")));
        await JobRunner.WaitAsync(ssh.Backend, sshJob, s => s == JobState.Running);
        await JobRunner.WaitAsync(rest.Backend, restJob, s => s == JobState.Running);

        await SlurmCluster.V2205.ScriptAsync("stop-ctld");
        try
        {
            var sshFault = await Assert.ThrowsAnyAsync<CompGridException>(() => ssh.Backend.GetStatusAsync(sshJob));
            Assert.True(sshFault.IsTransient, sshFault.Message);
            var openSshFault = await Assert.ThrowsAnyAsync<CompGridException>(() => openSsh.Backend.GetStatusAsync(sshJob));
            Assert.True(openSshFault.IsTransient, openSshFault.Message);
            var restFault = await Assert.ThrowsAnyAsync<CompGridException>(() => rest.Backend.GetStatusAsync(restJob));
            Assert.True(restFault.IsTransient, restFault.Message);
        }
        finally
        {
            await SlurmCluster.V2205.ScriptAsync("start-ctld");
        }

        var sshStatus = await JobRunner.WaitTerminalAsync(ssh.Backend, sshJob, tolerateTransient: true);
        Assert.Equal(JobState.Failed, sshStatus.State);
        Assert.Equal(4, sshStatus.ExitCode);
        var restStatus = await JobRunner.WaitTerminalAsync(rest.Backend, restJob, tolerateTransient: true);
        Assert.Equal(JobState.Completed, restStatus.State);
        Assert.Contains("ok", (await rest.Backend.GetLogsAsync(restJob)).StandardOutput, StringComparison.Ordinal);
    }
}

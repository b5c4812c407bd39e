namespace CompGrid.VirtualMachines.Tests;

/// <summary>A real QEMU VM under TCG, driven over QMP and its guest agent.</summary>
[Collection("qemu-vm1")]
[Trait("Category", "Qemu")]
public sealed class QemuVmTests(QemuVmFixture vm)
{
    private static BackendJobRequest Request(string id, JobPayload payload, IReadOnlyDictionary<string, string>? env = null) => new()
    {
        JobId = id,
        Spec = new JobSpec { Name = id, Owner = "alice", Payload = payload, Environment = env ?? new Dictionary<string, string>() },
        Nodes = ["vm1"],
        MemoryMiBPerNode = 128,
        Walltime = TimeSpan.FromMinutes(5),
    };

    [BackendFact("QEMU", QemuImage.Variable)]
    public async Task Qmp_BootedVm_IsRunningThenPausedThenRunningAgain()
    {
        var nodes = await vm.Backend.GetNodesAsync();
        Assert.Equal(NodeState.Up, Assert.Single(nodes).State);
        Assert.Equal("running", await vm.Control.GetRunStateAsync("vm1"));

        await vm.Control.PauseAsync("vm1");
        Assert.Equal("paused", await vm.Control.GetRunStateAsync("vm1"));
        await vm.Control.ResumeAsync("vm1");
        Assert.Equal("running", await vm.Control.GetRunStateAsync("vm1"));
        Assert.Contains("STOP", vm.Control.GetEvents("vm1"));
        Assert.Contains("RESUME", vm.Control.GetEvents("vm1"));
    }

    [BackendFact("QEMU", QemuImage.Variable)]
    public async Task GuestAgent_CommandJob_ReturnsOutputAndExitCodeFromInsideTheVm()
    {
        string id = await vm.Backend.SubmitAsync(Request("job-cmd", JobPayload.Command("echo \"hello from $(hostname)\"; echo oops >&2; exit 3")));

        var status = await Poll.TerminalAsync(vm.Backend, id);

        Assert.Equal(JobState.Failed, status.State);
        Assert.Equal(3, status.ExitCode);
        Assert.Equal(["vm1"], status.Nodes);
        var logs = await vm.Backend.GetLogsAsync(id);
        Assert.Equal("hello from vm1\n", logs.StandardOutput); // the guest's hostname: the job ran inside the VM
        Assert.Equal("oops\n", logs.StandardError);
    }

    [BackendFact("QEMU", QemuImage.Variable)]
    public async Task GuestAgent_ScriptJob_RunsInItsOwnDirectoryWithItsEnvironment_AndCompleteRemovesIt()
    {
        var env = new Dictionary<string, string> { ["GREETING"] = "it's \"quoted\"; $(not run)" };
        string id = await vm.Backend.SubmitAsync(Request("job-script", JobPayload.FromScript("pwd\necho \"$GREETING\"\necho data > out.txt\n"), env));

        var status = await Poll.TerminalAsync(vm.Backend, id);

        Assert.Equal(JobState.Completed, status.State);
        Assert.Equal(0, status.ExitCode);
        var logs = await vm.Backend.GetLogsAsync(id);
        Assert.Equal("/tmp/compgrid/job-script\nit's \"quoted\"; $(not run)\n", logs.StandardOutput);

        await vm.Backend.CompleteAsync(id);
        string probe = await vm.Backend.SubmitAsync(Request("job-probe", JobPayload.Exec("/bin/ls", "/tmp/compgrid")));
        await Poll.TerminalAsync(vm.Backend, probe);
        Assert.DoesNotContain("job-script", (await vm.Backend.GetLogsAsync(probe)).StandardOutput);
        Assert.Contains("job-probe", (await vm.Backend.GetLogsAsync(probe)).StandardOutput);
    }

    [BackendFact("QEMU", QemuImage.Variable)]
    public async Task Cancel_RunningJob_KillsItInsideTheVm()
    {
        string id = await vm.Backend.SubmitAsync(Request("job-sleep", JobPayload.Exec("/bin/sleep", "300")));
        Assert.Equal(JobState.Running, (await vm.Backend.GetStatusAsync(id))!.State);
        Assert.Equal(0, (await vm.Backend.GetNodesAsync())[0].Free.Cpus); // one job per VM

        await vm.Backend.CancelAsync(id);

        var status = await vm.Backend.GetStatusAsync(id);
        Assert.Equal(JobState.Cancelled, status!.State);
        Assert.Equal(9, status.Signal);
        string ps = await vm.Backend.SubmitAsync(Request("job-ps", JobPayload.Command("ps | grep -c '[s]leep 300' || true")));
        await Poll.TerminalAsync(vm.Backend, ps);
        Assert.Equal("0\n", (await vm.Backend.GetLogsAsync(ps)).StandardOutput);
    }
}

using CompGrid.Agents.Protocol;
using CompGrid.Testing;

namespace CompGrid.Agents.Tests;

/// <summary>
/// UTM through a real agent process connected to a real hub: the portal's <see cref="IUtmControl"/> and the UTM VM node
/// provider send requests over mac-1's authenticated channel; mac-1's agent runs the fake utmctl with argument lists.
/// </summary>
[Collection(LoopbackAgentsCollection.Name)]
[Trait("Category", "Agents")]
public sealed class UtmAgentTests(LoopbackAgents lab)
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task List_AndStatus_RunUtmctlOnTheMac_AndParseItsOutput()
    {
        var vms = await lab.Utm.ListAsync(LoopbackAgents.Mac);
        // The names have spaces; the statuses are padded to 8 in utmctl's table. (Build VM's status depends on the other tests.)
        Assert.Equal([(LoopbackAgents.VmUuid, LoopbackAgents.VmName), (LoopbackAgents.OtherUuid, "Windows 11")], vms.Select(v => (v.Id, v.Name)));
        Assert.Equal(UtmVmStatus.Started, vms[1].Status);
        Assert.NotEqual(UtmVmStatus.Unknown, vms[0].Status);
        Assert.Equal(UtmVmStatus.Started, await lab.Utm.GetStatusAsync(LoopbackAgents.Mac, "Windows 11"));
        Assert.Equal(UtmVmStatus.Started, await lab.Utm.GetStatusAsync(LoopbackAgents.Mac, LoopbackAgents.OtherUuid)); // by UUID too
        Assert.Equal(["192.168.64.7", "fe80::5054:ff:fe12:3456"], await lab.Utm.GetIpAddressesAsync(LoopbackAgents.Mac, "Windows 11"));
        var calls = lab.Utmctl.Calls();
        Assert.Contains(calls, c => c.SequenceEqual(["list"]));
        Assert.Contains(calls, c => c.SequenceEqual(["status", "--", "Windows 11"]));
        Assert.Contains(calls, c => c.SequenceEqual(["ip-address", "--", "Windows 11"]));
    }

    [Fact]
    public async Task OptionLikeVmName_IsRefusedByThePortal_AndNothingRuns()
    {
        int before = lab.Utmctl.Calls().Count;
        var ex = await Assert.ThrowsAsync<CompGridException>(() => lab.Utm.StartAsync(LoopbackAgents.Mac, "--help"));
        Assert.Equal(CompGridErrorCodes.Invalid, ex.Code);
        Assert.Contains("must not start with '-'", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<CompGridException>(() => lab.Utm.GetStatusAsync(LoopbackAgents.Mac, "a\nb"));
        Assert.Equal(before, lab.Utmctl.Calls().Count);
    }

    [Fact]
    public async Task UnknownVm_FailsWithUtmctlsMessage()
    {
        var ex = await Assert.ThrowsAsync<CompGridException>(() => lab.Utm.GetStatusAsync(LoopbackAgents.Mac, "No Such VM"));
        Assert.Contains("Virtual machine not found.", ex.Message, StringComparison.Ordinal);
        Assert.False(ex.IsTransient);
    }

    [Fact]
    public async Task HostWithoutUtmEnabled_IsRefused_AndUnknownHostIsUnavailable()
    {
        var ex = await Assert.ThrowsAsync<CompGridException>(() => lab.Utm.ListAsync(LoopbackAgents.Worker));
        Assert.Contains("does not run utmctl", ex.Message, StringComparison.Ordinal);
        var away = await Assert.ThrowsAsync<CompGridException>(() => lab.Utm.ListAsync("no-such-mac"));
        Assert.Equal(CompGridErrorCodes.Unavailable, away.Code);
        Assert.True(away.IsTransient);
    }

    [Fact]
    public async Task VmNode_PoweredOff_StartsThroughUtmctl_RunsAJob_SuspendsResumes_AndStops()
    {
        var off = Assert.Single(await lab.UtmNodes.GetNodesAsync());
        Assert.Equal((LoopbackAgents.VmNode, NodeState.PoweredOff, new NodeResources(2, 1024, 0)), (off.Name, off.State, off.Capacity));

        // Start: utmctl start, then the VM's own agent registers (the fake's "boot" starts a real agent process).
        try { await lab.UtmNodes.StartNodeAsync(LoopbackAgents.VmNode); }
        catch (CompGridException ex) { throw new InvalidOperationException(ex.Message + "\n" + lab.AgentOutput(), ex); }
        Assert.Contains(lab.Utmctl.Calls(), c => c.SequenceEqual(["start", "--", LoopbackAgents.VmName]));
        Assert.Equal(NodeState.Up, (await lab.Engine.GetNodesAsync()).Single(n => n.Name == LoopbackAgents.VmNode).State);

        var job = await lab.Engine.SubmitAsync(new JobSpec
        {
            Owner = "alice", Payload = JobPayload.Command("echo inside the vm"), Resources = new ResourceRequest { Cpus = 1, MemoryMiB = 64 },
            Constraints = new JobConstraints { RequiredFeatures = ["vm"] },
        });
        JobRecord? done = null;
        await LoopbackAgents.WaitForAsync(async () => (done = await lab.Engine.GetJobAsync(job.Id)) is { } j && j.State.IsTerminal(), Limit, "the VM's job ended");
        Assert.Equal((JobState.Completed, LoopbackAgents.VmNode), (done!.State, done.Nodes.Single()));
        Assert.Equal("inside the vm\n", (await lab.Engine.GetLogsAsync(job.Id)).StandardOutput);

        // Suspend and resume: the VM's agent is frozen (SIGSTOP), then goes on.
        await lab.Utm.SuspendAsync(LoopbackAgents.Mac, LoopbackAgents.VmName);
        Assert.Equal(UtmVmStatus.Paused, await lab.Utm.GetStatusAsync(LoopbackAgents.Mac, LoopbackAgents.VmName));
        await lab.Utm.StartAsync(LoopbackAgents.Mac, LoopbackAgents.VmName);
        Assert.Equal(UtmVmStatus.Started, await lab.Utm.GetStatusAsync(LoopbackAgents.Mac, LoopbackAgents.VmName));

        // Stop: a clean shutdown request first; the VM's agent goes away and the node is powered off again.
        await lab.UtmNodes.StopNodeAsync(LoopbackAgents.VmNode);
        Assert.Contains(lab.Utmctl.Calls(), c => c.SequenceEqual(["stop", "--request", "--", LoopbackAgents.VmName]));
        Assert.Null(lab.Utmctl.GuestPid(LoopbackAgents.VmUuid));
        await LoopbackAgents.WaitForAsync(async () => Assert.Single(await lab.UtmNodes.GetNodesAsync()).State == NodeState.PoweredOff, Limit, "vm-1 powered off");
    }
}

using CompGrid.Agent;
using CompGrid.Agents.Protocol;
using CompGrid.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace CompGrid.Agents.Tests;

/// <summary>The request/response over the channel on a manual clock, the utmctl command lines and output parsing, and the agent's own refusals.</summary>
[Trait("Category", "Agents")]
public sealed class UtmControlTests
{
    private readonly ManualTimeProvider _time = new();
    private readonly List<(string Connection, string Method, object Argument)> _sent = [];

    private (AgentRegistry Registry, AgentUtmControl Utm) Create()
    {
        var options = new AgentBackendOptions
        {
            Machines =
            {
                ["mac"] = new AgentMachineOptions { TokenSha256 = AgentRegistryTests.Hash("t-mac") },
                ["lab"] = new AgentMachineOptions { TokenSha256 = AgentRegistryTests.Hash("t-lab") },
            },
            UtmCommandTimeout = TimeSpan.FromSeconds(30),
        };
        var registry = new AgentRegistry(options, _time, NullLogger.Instance);
        registry.Register("mac", "c-mac", new AgentRegistration { Cpus = 1, MemoryMiB = 512, Utm = true });
        registry.Register("lab", "c-lab", new AgentRegistration { Cpus = 1, MemoryMiB = 512 });
        return (registry, new AgentUtmControl(registry, new Channel(_sent), _time, NullLogger.Instance));
    }

    private sealed class Channel(List<(string, string, object)> sent) : IAgentChannel
    {
        public Task SendAsync(string connectionId, string method, object argument, CancellationToken cancellationToken)
        {
            lock (sent) sent.Add((connectionId, method, argument));
            return Task.CompletedTask;
        }
    }

    private async Task<UtmRequest> SentRequestAsync()
    {
        for (int i = 0; i < 200 && _sent.Count == 0; i++) await Task.Yield();
        var (connection, method, argument) = Assert.Single(_sent);
        Assert.Equal(("c-mac", AgentProtocol.RunUtm), (connection, method));
        return (UtmRequest)argument;
    }

    [Fact]
    public async Task Answer_FromTheMachineItWasSentTo_CompletesTheRequest_OthersAreIgnored()
    {
        var (_, utm) = Create();
        var status = utm.GetStatusAsync("mac", "Build VM");
        var request = await SentRequestAsync();
        Assert.Equal((UtmCommand.Status, "Build VM"), (request.Command, request.Vm));

        Assert.False(utm.Complete("lab", new UtmResponse { RequestId = request.RequestId, Status = UtmVmStatus.Stopped })); // another token's answer
        Assert.False(utm.Complete("mac", new UtmResponse { RequestId = "made-up", Status = UtmVmStatus.Stopped }));
        Assert.False(status.IsCompleted);
        Assert.True(utm.Complete("mac", new UtmResponse { RequestId = request.RequestId, Status = UtmVmStatus.Started }));
        Assert.Equal(UtmVmStatus.Started, await status);
        Assert.Equal(0, utm.Pending);
    }

    [Fact]
    public async Task NoAnswer_TimesOutOnTheInjectedClock_AsATransientTimeout()
    {
        var (_, utm) = Create();
        var start = utm.StartAsync("mac", "Build VM");
        await SentRequestAsync();
        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.False(start.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(2));
        var ex = await Assert.ThrowsAsync<CompGridException>(() => start);
        Assert.Equal((CompGridErrorCodes.Timeout, true), (ex.Code, ex.IsTransient));
        Assert.Equal(0, utm.Pending);
    }

    [Fact]
    public async Task AgentError_IsACompGridExceptionWithUtmctlsMessage()
    {
        var (_, utm) = Create();
        var stop = utm.StopAsync("mac", "Build VM", force: true);
        var request = await SentRequestAsync();
        Assert.Equal(UtmCommand.Stop, request.Command);
        utm.Complete("mac", new UtmResponse { RequestId = request.RequestId, Error = "Error: Virtual machine not found." });
        var ex = await Assert.ThrowsAsync<CompGridException>(() => stop);
        Assert.Contains("Virtual machine not found.", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-h")]
    [InlineData("--force")]
    [InlineData("")]
    [InlineData(" padded ")]
    [InlineData("two\nlines")]
    public async Task BadVmName_IsRefusedBeforeAnythingIsSent(string vm)
    {
        var (_, utm) = Create();
        var ex = await Assert.ThrowsAsync<CompGridException>(() => utm.GetStatusAsync("mac", vm));
        Assert.Equal(CompGridErrorCodes.Invalid, ex.Code);
        Assert.StartsWith("UTM Status on 'mac': vm: the VM name", ex.Message, StringComparison.Ordinal);
        Assert.Empty(_sent);
    }

    [Fact]
    public void Arguments_PutTheVmAfterDoubleDash()
    {
        Assert.Equal(["list"], UtmCommandLine.Arguments(UtmCommand.List, ""));
        Assert.Equal(["start", "--", "My VM"], UtmCommandLine.Arguments(UtmCommand.Start, "My VM"));
        Assert.Equal(["suspend", "--", "My VM"], UtmCommandLine.Arguments(UtmCommand.Suspend, "My VM"));
        Assert.Equal(["stop", "--request", "--", "My VM"], UtmCommandLine.Arguments(UtmCommand.RequestStop, "My VM"));
        Assert.Equal(["stop", "--force", "--", "My VM"], UtmCommandLine.Arguments(UtmCommand.Stop, "My VM"));
        Assert.Equal(["ip-address", "--", "My VM"], UtmCommandLine.Arguments(UtmCommand.IpAddress, "My VM"));
        Assert.Throws<ArgumentException>(() => UtmCommandLine.Arguments(UtmCommand.Start, "-x"));
    }

    [Fact]
    public void ParseList_ReadsUtmctlsTable_NamesWithSpaces_AndEveryStatus()
    {
        const string output = """
            UUID                                 Status   Name
            6C3F1A52-7E0B-4F8A-9D0C-2B5E8A1F4D11 stopped  Build VM
            0F9E8D7C-6B5A-4938-8271-605F4E3D2C1B starting Windows 11  Pro
            11111111-2222-3333-4444-555555555555 paused   x
            22222222-2222-3333-4444-555555555555 weird    y

            """;
        var vms = UtmCommandLine.ParseList(output.Replace("\n", "\r\n", StringComparison.Ordinal));
        Assert.Equal(
            [("6C3F1A52-7E0B-4F8A-9D0C-2B5E8A1F4D11", "Build VM", UtmVmStatus.Stopped), ("0F9E8D7C-6B5A-4938-8271-605F4E3D2C1B", "Windows 11  Pro", UtmVmStatus.Starting),
             ("11111111-2222-3333-4444-555555555555", "x", UtmVmStatus.Paused), ("22222222-2222-3333-4444-555555555555", "y", UtmVmStatus.Unknown)],
            vms.Select(v => (v.Id, v.Name, v.Status)));
        Assert.Equal(["10.0.0.5", "fe80::1"], UtmCommandLine.ParseAddresses("10.0.0.5\nfe80::1\nnot an address\n"));
    }

    [Fact]
    public async Task AgentRunner_Disabled_OrBadName_RefusesWithoutRunningAnything()
    {
        string dir = Path.Combine(Path.GetTempPath(), "compgrid-utmrunner-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var fake = new FakeUtmctl(dir);
            fake.AddVm(LoopbackAgents.VmUuid, "Build VM", "stopped");
            var disabled = new UtmRunner(new UtmOptions { Enabled = false, UtmctlPath = fake.Path }, TimeProvider.System, NullLogger.Instance);
            Assert.Contains("not enabled", (await disabled.RunAsync(new UtmRequest { RequestId = "1", Command = UtmCommand.List }, default)).Error, StringComparison.Ordinal);

            var runner = new UtmRunner(new UtmOptions { Enabled = true, UtmctlPath = fake.Path }, TimeProvider.System, NullLogger.Instance);
            var refused = await runner.RunAsync(new UtmRequest { RequestId = "2", Command = UtmCommand.Start, Vm = "--kill" }, default);
            Assert.Equal("2", refused.RequestId);
            Assert.Contains("must not start with '-'", refused.Error, StringComparison.Ordinal);
            Assert.Empty(fake.Calls());

            var ok = await runner.RunAsync(new UtmRequest { RequestId = "3", Command = UtmCommand.Status, Vm = "Build VM" }, default);
            Assert.Equal((null, UtmVmStatus.Stopped), (ok.Error, ok.Status));
            Assert.Equal([["status", "--", "Build VM"]], fake.Calls());

            var missing = new UtmRunner(new UtmOptions { Enabled = true, UtmctlPath = Path.Combine(dir, "absent") }, TimeProvider.System, NullLogger.Instance);
            Assert.Contains("cannot run Agent:Utm:UtmctlPath", (await missing.RunAsync(new UtmRequest { RequestId = "4", Command = UtmCommand.List }, default)).Error, StringComparison.Ordinal);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Validator_UtmVmNodes_NeedTheirOwnMachine_AHostMachine_ACapacity_AndAGoodName()
    {
        var options = new AgentBackendOptions
        {
            Machines = { ["mac"] = new AgentMachineOptions { TokenSha256 = AgentRegistryTests.Hash("t-mac") }, ["vm-a"] = new AgentMachineOptions { TokenSha256 = AgentRegistryTests.Hash("t-a") } },
            UtmVirtualMachines =
            {
                ["vm-a"] = new UtmVirtualMachineOptions { Host = "mac", Vm = "-rf" },
                ["vm-b"] = new UtmVirtualMachineOptions { Host = "nowhere", Vm = "B" },
            },
        };
        var errors = AgentBackendOptionsValidator.Errors("agents", options);
        Assert.Contains("Agent backend 'agents': UtmVirtualMachines:vm-a: Machines:vm-a:MaxCpus and MaxMemoryMiB must be set (what the VM offers while it is off).", errors);
        Assert.Contains("Agent backend 'agents': UtmVirtualMachines:vm-a:Vm: the VM name '-rf' must not start with '-'.", errors);
        Assert.Contains("Agent backend 'agents': UtmVirtualMachines:vm-b: the node must also be a machine in Machines (the agent inside the VM needs its own token).", errors);
        Assert.Contains("Agent backend 'agents': UtmVirtualMachines:vm-b:Host must name another machine in Machines: the Mac whose agent runs utmctl (got 'nowhere').", errors);
        Assert.Equal(4, errors.Count);
    }
}

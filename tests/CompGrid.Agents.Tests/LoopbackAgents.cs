using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using CompGrid.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace CompGrid.Agents.Tests;

/// <summary>
/// A portal on 127.0.0.1 with the agent backend, and real agent processes connected to it: <c>worker-1</c> (a plain
/// lab machine, which the conformance suite drives) and <c>mac-1</c> (a "Mac" whose agent runs the fake
/// <see cref="FakeUtmctl"/>). The UTM VM node <c>vm-1</c> is the VM "Build VM" on mac-1; starting it starts its own agent
/// process, as a booting VM's agent would. Created once for the collection; every process is stopped by its pid.
/// </summary>
public sealed class LoopbackAgents : IAsyncLifetime
{
    public const string Worker = "worker-1", Mac = "mac-1", VmNode = "vm-1", VmName = "Build VM";
    public const string VmUuid = "6C3F1A52-7E0B-4F8A-9D0C-2B5E8A1F4D11", OtherUuid = "0F9E8D7C-6B5A-4938-8271-605F4E3D2C1B";
    private readonly Dictionary<string, Process> _agents = [];
    private WebApplication? _portal;
    private int _port;

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "compgrid-loopback-" + Guid.NewGuid().ToString("N")[..8]);
    public InMemoryJobStore Store { get; } = new();
    internal FakeUtmctl Utmctl { get; private set; } = null!;
    public IServiceProvider Services => _portal!.Services;
    public CompGridEngine Engine => Services.GetRequiredService<CompGridEngine>();
    public IComputeBackend Backend => Services.GetServices<IComputeBackend>().Single(b => b.Name == "agents");
    public IUtmControl Utm => Services.GetRequiredService<IUtmControl>();
    public INodeProvider UtmNodes => Services.GetServices<INodeProvider>().Single(p => p.Backend == "agents");

    private string Token(string machine) => $"{machine}-{Root.GetHashCode(StringComparison.Ordinal):x}";
    private string TokenFile(string machine) => Path.Combine(Root, machine, "token");
    public string WorkDirectory(string machine) => Path.Combine(Root, machine, "work");
    private string PortalUrl => $"http://127.0.0.1:{_port}/agents/hub";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Root);
        using (var probe = new TcpListener(IPAddress.Loopback, 0)) { probe.Start(); _port = ((IPEndPoint)probe.LocalEndpoint).Port; }
        Utmctl = new FakeUtmctl(Path.Combine(Root, "utm"));
        foreach (string m in (string[])[Worker, Mac, VmNode]) AgentProcess.WriteToken(TokenFile(m), Token(m));
        // The VM's "boot" starts the agent that would run inside it.
        Utmctl.AddVm(VmUuid, VmName, "stopped", [AgentProcess.Dotnet, .. AgentProcess.Arguments(PortalUrl, TokenFile(VmNode), WorkDirectory(VmNode), cpus: 2, memoryMiB: 1024)]);
        Utmctl.AddVm(OtherUuid, "Windows 11", "started");

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, _port));
        builder.Services.AddCompGrid(o => { o.PollInterval = TimeSpan.FromMilliseconds(200); o.DefaultMemoryMiBPerCpu = 64; })
            .UseJobStore(Store)
            .AddAgentBackend("agents", o =>
            {
                o.HeartbeatInterval = TimeSpan.FromSeconds(1);
                o.HeartbeatTimeout = TimeSpan.FromSeconds(4);
                o.UtmCommandTimeout = TimeSpan.FromSeconds(30);
                o.Machines[Worker] = new AgentMachineOptions { TokenSha256 = AgentRegistryTests.Hash(Token(Worker)), Features = ["worker"] };
                o.Machines[Mac] = new AgentMachineOptions { TokenSha256 = AgentRegistryTests.Hash(Token(Mac)), Features = ["mac"] };
                o.Machines[VmNode] = new AgentMachineOptions { TokenSha256 = AgentRegistryTests.Hash(Token(VmNode)), Features = ["vm"], MaxCpus = 2, MaxMemoryMiB = 1024 };
                o.UtmVirtualMachines[VmNode] = new UtmVirtualMachineOptions { Host = Mac, Vm = VmName, StartTimeout = TimeSpan.FromSeconds(60), StopGracePeriod = TimeSpan.FromSeconds(10) };
            });
        _portal = builder.Build();
        _portal.UseAuthentication();
        _portal.UseAuthorization();
        _portal.MapCompGridAgents();
        await _portal.StartAsync();

        StartAgent(Worker, cpus: 8, memoryMiB: 4096);
        StartAgent(Mac, cpus: 1, memoryMiB: 512, "--Agent:Utm:Enabled=true", $"--Agent:Utm:UtmctlPath={Utmctl.Path}", "--Agent:Utm:CommandTimeout=00:00:20");
        await WaitForAsync(async () => (await Engine.GetNodesAsync()).Count(n => n.State == NodeState.Up) == 2, TimeSpan.FromSeconds(90), "worker-1 and mac-1 registered");
    }

    private void StartAgent(string machine, int cpus, int memoryMiB, params string[] extra) =>
        _agents[machine] = AgentProcess.Start(AgentProcess.Dotnet, AgentProcess.Arguments(PortalUrl, TokenFile(machine), WorkDirectory(machine), cpus, memoryMiB, extra),
            Path.Combine(Root, machine, "agent.log"));

    /// <summary>The last lines each agent printed (the VM's too), for failure messages.</summary>
    public string AgentOutput() =>
        string.Join("\n", new[] { Worker, Mac }.Select(m => $"--- {m}:\n" + AgentProcess.Tail(Path.Combine(Root, m, "agent.log")))
            .Append($"--- {VmNode}:\n" + AgentProcess.Tail(Path.Combine(Utmctl.Directory, VmUuid + ".log"))));

    /// <summary>Polls on the real clock (real processes), as the agent lab does.</summary>
    public static Task WaitForAsync(Func<Task<bool>> condition, TimeSpan limit, string what) => AgentLab.WaitForAsync(condition, limit, what);

    public async Task DisposeAsync()
    {
        Utmctl?.KillGuests();
        foreach (var p in _agents.Values)
        {
            if (!p.HasExited) { p.Kill(entireProcessTree: true); await p.WaitForExitAsync(); }
            p.Dispose();
        }
        if (_portal is not null) { await _portal.StopAsync(); await _portal.DisposeAsync(); }
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

[CollectionDefinition(Name)]
public sealed class LoopbackAgentsCollection : ICollectionFixture<LoopbackAgents>
{
    public const string Name = "loopback agents";
}

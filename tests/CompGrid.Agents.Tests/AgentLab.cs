using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using CompGrid.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace CompGrid.Agents.Tests;

/// <summary>
/// Three real agent processes, each in a network namespace of its own joined to the host by a veth pair, and a
/// portal (an ASP.NET Core host with the engine and the agent backend) listening only on the host ends of those
/// links. Created once for the test collection; every namespace, link and process is removed at the end.
/// </summary>
public sealed class AgentLab : IAsyncLifetime
{
    public const int Machines = 3;
    private readonly string _run = Convert.ToHexString(BitConverter.GetBytes(Environment.ProcessId))[..4].ToLowerInvariant();
    private readonly int _subnet = Random.Shared.Next(0, 256);
    private readonly List<string> _namespaces = [];
    private readonly Process?[] _agents = new Process?[Machines];
    private WebApplication? _portal;
    private int _port;

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "compgrid-agents-" + Guid.NewGuid().ToString("N")[..8]);
    public InMemoryJobStore Store { get; } = new();
    public CompGridEngine Engine => _portal!.Services.GetRequiredService<CompGridEngine>();

    public static string MachineName(int i) => $"lab-{i + 1}";
    public string WorkDirectory(int i) => Path.Combine(Root, MachineName(i), "work");
    private string Token(int i) => $"token-{_run}-{i}-{Root.GetHashCode(StringComparison.Ordinal)}";
    private string Namespace(int i) => $"cgag-{_run}-{i}";
    private IPAddress HostEnd(int i) => IPAddress.Parse(string.Create(CultureInfo.InvariantCulture, $"10.251.{_subnet}.{4 * i + 1}"));
    private IPAddress AgentEnd(int i) => IPAddress.Parse(string.Create(CultureInfo.InvariantCulture, $"10.251.{_subnet}.{4 * i + 2}"));

    public async Task InitializeAsync()
    {
        BackendEnvironment.Get("COMPGRID_NETNS", "network namespaces (root and iproute2)");
        Directory.CreateDirectory(Root);
        for (int i = 0; i < Machines; i++) CreateNamespace(i);
        using (var probe = new TcpListener(IPAddress.Loopback, 0)) { probe.Start(); _port = ((IPEndPoint)probe.LocalEndpoint).Port; }
        await StartPortalAsync();
        for (int i = 0; i < Machines; i++) StartAgent(i);
        try
        {
            await WaitForAsync(async () => (await Engine.GetNodesAsync()).Count(n => n.State == NodeState.Up) == Machines, TimeSpan.FromSeconds(90), "three agents registered");
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException(ex.Message + " Agent output:\n" + AgentOutput(), ex);
        }
    }

    /// <summary>The last lines each agent printed, for failure messages.</summary>
    public string AgentOutput() => string.Join("\n", Enumerable.Range(0, Machines).SelectMany(i =>
        Directory.EnumerateFiles(Path.Combine(Root, MachineName(i)), "agent-*.log")
            .Select(f => $"--- {MachineName(i)} {Path.GetFileName(f)}:\n" + AgentProcess.Tail(f))));

    private void CreateNamespace(int i)
    {
        string ns = Namespace(i), host = $"cgh{_run}{i}", agent = $"cga{_run}{i}";
        Ip("netns", "add", ns);
        _namespaces.Add(ns);
        Ip("link", "add", host, "type", "veth", "peer", "name", agent);
        Ip("link", "set", agent, "netns", ns);
        Ip("addr", "add", HostEnd(i) + "/30", "dev", host);
        Ip("link", "set", host, "up");
        Ip("netns", "exec", ns, "ip", "addr", "add", AgentEnd(i) + "/30", "dev", agent);
        Ip("netns", "exec", ns, "ip", "link", "set", agent, "up");
        Ip("netns", "exec", ns, "ip", "link", "set", "lo", "up");
    }

    /// <summary>Starts (or restarts) the portal on the host ends of the links, over the same job store.</summary>
    public async Task StartPortalAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => { for (int i = 0; i < Machines; i++) k.Listen(HostEnd(i), _port); });
        builder.Services.AddCompGrid(o => { o.PollInterval = TimeSpan.FromMilliseconds(200); o.DefaultMemoryMiBPerCpu = 64; })
            .UseJobStore(Store)
            .AddAgentBackend("agents", o =>
            {
                o.HeartbeatInterval = TimeSpan.FromSeconds(1);
                o.HeartbeatTimeout = TimeSpan.FromSeconds(4);
                o.ReconnectGracePeriod = TimeSpan.FromSeconds(60);
                for (int i = 0; i < Machines; i++)
                    o.Machines[MachineName(i)] = new AgentMachineOptions { TokenSha256 = AgentRegistryTests.Hash(Token(i)), Features = [$"m{i + 1}"] };
            });
        _portal = builder.Build();
        _portal.UseAuthentication();
        _portal.UseAuthorization();
        _portal.MapCompGridAgents();
        await _portal.StartAsync();
    }

    public async Task StopPortalAsync()
    {
        if (_portal is null) return;
        await _portal.StopAsync();
        await _portal.DisposeAsync();
        _portal = null;
    }

    /// <summary>Starts machine <paramref name="i"/>'s agent inside its namespace: <c>nsenter --net=/run/netns/NS -- dotnet compgrid-agent.dll …</c>.</summary>
    public void StartAgent(int i)
    {
        string tokenFile = Path.Combine(Root, MachineName(i), "token");
        AgentProcess.WriteToken(tokenFile, Token(i));
        // nsenter joins only the network namespace; `ip netns exec` would also remount /sys and hide the cgroup mounts the sandbox uses.
        string[] args = ["--net=/run/netns/" + Namespace(i), "--", AgentProcess.Dotnet,
            .. AgentProcess.Arguments($"http://{HostEnd(i)}:{_port}/agents/hub", tokenFile, WorkDirectory(i), cpus: 2, memoryMiB: 1024)];
        string log = Path.Combine(Root, MachineName(i), $"agent-{Guid.NewGuid():N}.log");
        _agents[i] = AgentProcess.Start("nsenter", args, log);
    }

    /// <summary>Kills machine <paramref name="i"/>'s agent by its pid, as a crash would.</summary>
    public void KillAgent(int i)
    {
        var p = _agents[i] ?? throw new InvalidOperationException("agent not running");
        p.Kill(entireProcessTree: false);
        p.WaitForExit();
        _agents[i] = null;
    }

    /// <summary>Files left in machine <paramref name="i"/>'s workspace (job folders and the sandbox's records).</summary>
    public IReadOnlyList<string> Leftovers(int i) =>
        new[] { "jobs", "supervisor" }.Select(d => Path.Combine(WorkDirectory(i), d)).Where(Directory.Exists)
            .SelectMany(Directory.EnumerateFileSystemEntries).ToList();

    public static async Task WaitForAsync(Func<Task<bool>> condition, TimeSpan limit, string what)
    {
        // Real processes on the real clock: poll until the condition holds or the limit passes.
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > limit) throw new TimeoutException($"Timed out after {limit.TotalSeconds} s waiting for: {what}.");
            await Task.Delay(100);
        }
    }

    public async Task<JobRecord> WaitForStateAsync(string jobId, Func<JobState, bool> done, TimeSpan limit)
    {
        JobRecord? job = null;
        await WaitForAsync(async () => (job = await Engine.GetJobAsync(jobId)) is { } j && done(j.State), limit, $"job {jobId} (now {job?.State})");
        return job!;
    }

    public async Task DisposeAsync()
    {
        for (int i = 0; i < Machines; i++)
            if (_agents[i] is { HasExited: false } p) { p.Kill(entireProcessTree: true); await p.WaitForExitAsync(); }
        await StopPortalAsync();
        foreach (string ns in _namespaces) Ip("netns", "delete", ns); // removes the agent ends, and with them the host ends
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static void Ip(params string[] args)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"ip {string.Join(' ', args)} failed ({p.ExitCode}): {err.Trim()}");
    }
}

[CollectionDefinition(Name)]
public sealed class AgentLabCollection : ICollectionFixture<AgentLab>
{
    public const string Name = "agent lab";
}

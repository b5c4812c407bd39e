using CompGrid.Agent;
using CompGrid.Local;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CompGrid.Agent;

/// <summary>The CompGrid agent: <c>compgrid-agent --Agent:PortalUrl=https://portal/agents/hub --Agent:TokenFile=/etc/compgrid-agent/token</c>.</summary>
internal static class Program
{
    /// <summary>The Local sandbox's one node: the whole machine, as the agent offers it.</summary>
    private const string AgentNode = "agent";

    public static async Task<int> Main(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(args);
        builder.Configuration.AddEnvironmentVariables("COMPGRID_AGENT_");
        var options = builder.Configuration.GetSection("Agent").Get<AgentOptions>() ?? new AgentOptions();
        if (options.Errors() is { Count: > 0 } errors)
        {
            foreach (string e in errors) Console.Error.WriteLine("compgrid-agent: " + e);
            return 2;
        }
        string token;
        try { token = File.ReadAllText(options.TokenFile).Trim(); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"compgrid-agent: cannot read Agent:TokenFile '{options.TokenFile}': {ex.Message}");
            return 2;
        }
        if (token.Length == 0)
        {
            Console.Error.WriteLine($"compgrid-agent: Agent:TokenFile '{options.TokenFile}' is empty.");
            return 2;
        }

        var machine = MachineInfo.Discover(options);

        var sandbox = LocalBackend.Create("agent", new LocalBackendOptions
        {
            StateDirectory = options.WorkDirectory,
            RunAsUser = options.RunAsUser,
            RemoveRecordsOnComplete = true, // the portal keeps the logs; the machine keeps nothing of the job
            Nodes = [new LocalNodeOptions { Name = AgentNode, Cpus = machine.Cpus, MemoryMiB = machine.MemoryMiB, Features = [.. machine.Features] }],
        }, LoggerFactory.Create(l => l.AddConsole()), TimeProvider.System);

        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp => new JobRunner(sandbox, AgentNode, sp.GetRequiredService<ILogger<JobRunner>>()));
        builder.Services.AddSingleton(sp => new UtmRunner(options.Utm, TimeProvider.System, sp.GetRequiredService<ILogger<UtmRunner>>()));
        builder.Services.AddSingleton(sp => new DesktopPolicy(options.Desktop, options.Desktop.CreateIdleSource(TimeProvider.System), TimeProvider.System, sp.GetRequiredService<ILogger<DesktopPolicy>>()));
        builder.Services.AddHostedService(sp => new AgentConnection(options, token, sp.GetRequiredService<JobRunner>(), sp.GetRequiredService<UtmRunner>(),
            sp.GetRequiredService<DesktopPolicy>(), TimeProvider.System, sp.GetRequiredService<ILogger<AgentConnection>>()));
        await builder.Build().RunAsync().ConfigureAwait(false);
        return 0;
    }
}

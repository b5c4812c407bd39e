using System.Text.Json;
using CompGrid;
using CompGrid.Agents;
using CompGrid.Agents.Protocol;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the agent backend (machines running the CompGrid agent) and maps its channel.</summary>
public static class AgentCompGridBuilderExtensions
{
    /// <summary>
    /// Adds the agent backend named <paramref name="name"/> (for example <c>agents</c>), SignalR with CompGrid's JSON
    /// conventions and the agent token authentication scheme. Map the channel with
    /// <see cref="MapCompGridAgents"/>. One agent backend per host.
    /// </summary>
    public static ICompGridBuilder AddAgentBackend(this ICompGridBuilder builder, string name, Action<AgentBackendOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(AgentRegistry)))
            throw new InvalidOperationException("An agent backend is registered already; a host has one (its machines may be in several partitions).");
        ArgumentNullException.ThrowIfNull(configure);
        var options = services.AddOptions<AgentBackendOptions>(name);
        options.Configure(configure);
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AgentBackendOptions>>(new AgentBackendOptionsValidator(name)));
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new AgentRegistry(
            sp.GetRequiredService<IOptionsMonitor<AgentBackendOptions>>().Get(name), sp.GetRequiredService<TimeProvider>(),
            (sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger("CompGrid.Agents")));
        services.AddSingleton<IAgentChannel, HubAgentChannel>();
        services.AddSingleton(sp => new AgentUtmControl(sp.GetRequiredService<AgentRegistry>(), sp.GetRequiredService<IAgentChannel>(), sp.GetRequiredService<TimeProvider>(),
            (sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger("CompGrid.Agents")));
        services.AddSingleton<IUtmControl>(sp => sp.GetRequiredService<AgentUtmControl>());
        // UTM VM nodes for the power manager (no nodes when UtmVirtualMachines is empty).
        services.AddSingleton<INodeProvider>(sp => new UtmNodeProvider(name, sp.GetRequiredService<AgentRegistry>(), sp.GetRequiredService<AgentUtmControl>(),
            sp.GetRequiredService<TimeProvider>(), (sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger("CompGrid.Agents")));
        services.AddSingleton<IComputeBackend>(sp => new AgentComputeBackend(name, sp.GetRequiredService<AgentRegistry>(), sp.GetRequiredService<IAgentChannel>(),
            (sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger("CompGrid.Agents")));
        services.AddSignalR(o => o.MaximumReceiveMessageSize = 64 * 1024)
            .AddJsonProtocol(o => o.PayloadSerializerOptions = new JsonSerializerOptions(CompGridJson.Options));
        services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, AgentTokenAuthenticationHandler>(AgentProtocol.AuthenticationScheme, null);
        services.AddAuthorization();
        return builder;
    }

    /// <summary>Adds the agent backend with options bound from a configuration section (for example <c>CompGrid:Agents</c>).</summary>
    public static ICompGridBuilder AddAgentBackend(this ICompGridBuilder builder, string name, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure<AgentBackendOptions>(name, section);
        return builder.AddAgentBackend(name, _ => { });
    }

    /// <summary>
    /// Maps the agents' channel (a SignalR hub, WebSockets) at <paramref name="pattern"/>; only connections with a
    /// configured machine token get in. Serve it over HTTPS outside a test: the token is a bearer secret.
    /// </summary>
    public static IEndpointConventionBuilder MapCompGridAgents(this IEndpointRouteBuilder endpoints, string pattern = AgentProtocol.DefaultPath)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.MapHub<AgentHub>(pattern);
    }
}

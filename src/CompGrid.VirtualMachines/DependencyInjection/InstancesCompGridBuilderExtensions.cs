using CompGrid;
using CompGrid.VirtualMachines;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the leased VM instance service.</summary>
public static class InstancesCompGridBuilderExtensions
{
    /// <summary>
    /// Adds <see cref="VirtualMachineInstances"/> named <paramref name="name"/> with a hosted metering round. Usage
    /// records go to every registered <see cref="IUsageSink"/>; holds are placed by the <see cref="IAdmissionCheck"/>
    /// registered under <see cref="VirtualMachineInstances.FundingServiceKey"/>, when there is one. Options are validated at start-up.
    /// </summary>
    /// <example>
    /// <code>
    /// services.AddCompGrid().AddGrantBilling(...).AddVirtualMachineInstances("instances", o =>
    /// {
    ///     o.Qemu.StateDirectory = "/var/lib/compgrid/instances";
    ///     o.Qemu.Templates.Add(new VmTemplate { Name = "small", Kernel = "/srv/vm/vmlinuz", Initrd = "/srv/vm/initrd.gz", Cpus = 2, MemoryMiB = 2048 });
    /// });
    /// services.AddKeyedSingleton&lt;IAdmissionCheck&gt;(VirtualMachineInstances.FundingServiceKey, (sp, _) => sp.GetRequiredService&lt;GrantBillingService&gt;().AdmissionCheck);
    /// </code>
    /// </example>
    public static ICompGridBuilder AddVirtualMachineInstances(this ICompGridBuilder builder, string name, Action<VirtualMachineInstancesOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(name, configure);
        return Register(builder, name);
    }

    /// <summary>Adds the instance service with options bound from a configuration section (for example <c>CompGrid:VirtualMachines:Instances</c>).</summary>
    public static ICompGridBuilder AddVirtualMachineInstances(this ICompGridBuilder builder, string name, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure<VirtualMachineInstancesOptions>(name, section);
        return Register(builder, name);
    }

    private static ICompGridBuilder Register(ICompGridBuilder builder, string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var services = builder.Services;
        services.AddOptions<VirtualMachineInstancesOptions>(name).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<VirtualMachineInstancesOptions>, VirtualMachineInstancesOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp =>
        {
            var billing = new InstanceBilling { Funding = sp.GetKeyedService<IAdmissionCheck>(VirtualMachineInstances.FundingServiceKey) };
            foreach (var sink in sp.GetServices<IUsageSink>()) billing.UsageSinks.Add(sink);
            return VirtualMachineInstances.Create(name, sp.GetRequiredService<IOptionsMonitor<VirtualMachineInstancesOptions>>().Get(name), billing,
                sp.GetService<IInstanceStore>(), sp.GetService<ILoggerFactory>(), sp.GetRequiredService<TimeProvider>());
        });
        services.AddHostedService(sp => new InstanceMeteringService(sp.GetRequiredService<VirtualMachineInstances>(),
            sp.GetRequiredService<IOptionsMonitor<VirtualMachineInstancesOptions>>().Get(name), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<InstanceMeteringService>>()));
        return builder;
    }
}

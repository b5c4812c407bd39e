using CompGrid;
using CompGrid.VirtualMachines;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers QEMU VM backends.</summary>
public static class QemuCompGridBuilderExtensions
{
    /// <summary>
    /// Adds a QEMU backend named <paramref name="name"/>, registered as an <see cref="IComputeBackend"/>, an
    /// <see cref="INodeProvider"/> (for the power manager) and an <see cref="IVirtualMachineControl"/> (keyed by the name);
    /// its options are validated at start-up.
    /// </summary>
    /// <example>
    /// <code>
    /// services.AddCompGrid().AddQemuBackend("vms", o =>
    /// {
    ///     o.StateDirectory = "/var/lib/compgrid/vms";
    ///     o.Templates.Add(new VmTemplate { Name = "small", Kernel = "/srv/vm/vmlinuz", Initrd = "/srv/vm/initrd.gz" });
    ///     o.Nodes.Add(new QemuNodeOptions { Name = "vm1", Template = "small" });
    /// });
    /// </code>
    /// </example>
    public static ICompGridBuilder AddQemuBackend(this ICompGridBuilder builder, string name, Action<QemuBackendOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(name, configure);
        return Register(builder, name);
    }

    /// <summary>Adds a QEMU backend with options bound from a configuration section (for example <c>CompGrid:VirtualMachines:Qemu</c>).</summary>
    public static ICompGridBuilder AddQemuBackend(this ICompGridBuilder builder, string name, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure<QemuBackendOptions>(name, section);
        return Register(builder, name);
    }

    private static ICompGridBuilder Register(ICompGridBuilder builder, string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        builder.Services.AddOptions<QemuBackendOptions>(name).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<QemuBackendOptions>, QemuBackendOptionsValidator>());
        builder.Services.AddKeyedSingleton(name, (sp, _) => QemuBackend.CreateValidated(
            name,
            sp.GetRequiredService<IOptionsMonitor<QemuBackendOptions>>().Get(name),
            sp.GetService<ILoggerFactory>(),
            sp.GetService<TimeProvider>()));
        builder.Services.AddSingleton<IComputeBackend>(sp => sp.GetRequiredKeyedService<QemuComputeBackend>(name));
        builder.Services.AddSingleton<INodeProvider>(sp => sp.GetRequiredKeyedService<QemuComputeBackend>(name));
        builder.Services.AddKeyedSingleton<IVirtualMachineControl>(name, (sp, _) => sp.GetRequiredKeyedService<QemuComputeBackend>(name));
        return builder;
    }
}

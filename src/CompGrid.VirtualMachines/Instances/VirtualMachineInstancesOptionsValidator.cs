using Microsoft.Extensions.Options;

namespace CompGrid.VirtualMachines;

/// <summary>Validates <see cref="VirtualMachineInstancesOptions"/> naming the option and the rule; used by DI and by <see cref="VirtualMachineInstances.Create"/>.</summary>
internal sealed class VirtualMachineInstancesOptionsValidator : IValidateOptions<VirtualMachineInstancesOptions>
{
    public ValidateOptionsResult Validate(string? name, VirtualMachineInstancesOptions options)
    {
        var errors = Errors(name ?? "instances", options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public static List<string> Errors(string name, VirtualMachineInstancesOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        string p = $"VM instances '{name}': ";
        if (o.Qemu is null) return [p + "Qemu is required."];
        var e = QemuBackendOptionsValidator.Errors(name, o.Qemu).Select(m => p + "Qemu." + m[(m.IndexOf(": ", StringComparison.Ordinal) + 2)..]).ToList();
        if (o.Qemu.Templates.Count == 0) e.Add(p + "Qemu.Templates must name at least one template (size).");
        if (o.Qemu.Nodes.Count > 0) e.Add(p + "Qemu.Nodes must be empty: instances make their own VMs.");
        if (o.StoreDirectory is { } dir && !Path.IsPathFullyQualified(dir)) e.Add(p + "StoreDirectory must be an absolute path.");
        if (o.MeteringPeriod < TimeSpan.FromMinutes(1)) e.Add(p + "MeteringPeriod must be at least 1 minute.");
        if (o.MeteringInterval <= TimeSpan.Zero || o.MeteringInterval > o.MeteringPeriod) e.Add(p + "MeteringInterval must be positive and not longer than MeteringPeriod.");
        if (o.MaxInstances < 1) e.Add(p + "MaxInstances must be at least 1.");
        if (o.MaxInstancesPerUser < 1) e.Add(p + "MaxInstancesPerUser must be at least 1.");
        if (o.IdleTime is { } idle && idle <= TimeSpan.Zero) e.Add(p + "IdleTime must be positive (or unset).");
        if (o.IdleCpuFraction is < 0 or > 1 || double.IsNaN(o.IdleCpuFraction)) e.Add(p + "IdleCpuFraction must be between 0 and 1.");
        if (o.SuspendIdle && o.IdleTime is null) e.Add(p + "SuspendIdle needs IdleTime.");
        if (o.MachineOwners.Any(string.IsNullOrWhiteSpace)) e.Add(p + "MachineOwners must not contain empty names.");
        return e;
    }
}

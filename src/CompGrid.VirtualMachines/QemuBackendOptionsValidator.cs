using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace CompGrid.VirtualMachines;

/// <summary>Validates <see cref="QemuBackendOptions"/> with messages naming the option and the rule; used by DI and by <see cref="QemuBackend.Create"/>.</summary>
internal sealed partial class QemuBackendOptionsValidator : IValidateOptions<QemuBackendOptions>
{
    // The longest socket name below a node's folder ("/qga.sock") plus the node name must fit sockaddr_un (107 bytes).
    internal const int MaxSocketPath = 107;

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,31}$", RegexOptions.CultureInvariant)]
    private static partial Regex NodeName();

    [GeneratedRegex("^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]$", RegexOptions.CultureInvariant)]
    private static partial Regex PciAddress();

    public ValidateOptionsResult Validate(string? name, QemuBackendOptions options)
    {
        var errors = Errors(name ?? "qemu", options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public static List<string> Errors(string name, QemuBackendOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        var e = new List<string>();
        string p = $"QEMU backend '{name}': ";
        if (!File.Exists(o.QemuBinary)) e.Add(p + $"QemuBinary '{o.QemuBinary}' does not exist.");
        if (string.IsNullOrWhiteSpace(o.StateDirectory) || !Path.IsPathFullyQualified(o.StateDirectory)) e.Add(p + "StateDirectory is required and must be an absolute path.");
        if (o.Accelerator is not ("tcg" or "kvm")) e.Add(p + $"Accelerator '{o.Accelerator}' must be 'tcg' or 'kvm'.");
        if (o.BootTimeout <= TimeSpan.Zero) e.Add(p + "BootTimeout must be positive.");
        if (o.PowerDownGracePeriod < TimeSpan.Zero) e.Add(p + "PowerDownGracePeriod must not be negative.");
        if (o.CommandTimeout <= TimeSpan.Zero) e.Add(p + "CommandTimeout must be positive.");
        if (!o.GuestWorkRoot.StartsWith('/') || o.GuestWorkRoot.Split('/').Any(s => s is "." or "..") || o.GuestWorkRoot.Any(char.IsControl) || o.GuestWorkRoot.TrimEnd('/').Length == 0)
            e.Add(p + $"GuestWorkRoot '{o.GuestWorkRoot}' must be an absolute path other than '/' without '.' or '..' segments.");

        var templates = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < o.Templates.Count; i++)
        {
            var t = o.Templates[i];
            string f = $"Templates[{i}]";
            if (string.IsNullOrWhiteSpace(t.Name)) e.Add(p + $"{f}.Name is required.");
            else if (!templates.Add(t.Name)) e.Add(p + $"{f}.Name: the name '{t.Name}' is used twice.");
            if ((t.Kernel is null) == (t.Disk is null)) e.Add(p + $"{f}: set exactly one of Kernel and Disk.");
            if (t.Kernel is not null && !File.Exists(t.Kernel)) e.Add(p + $"{f}.Kernel '{t.Kernel}' does not exist.");
            if (t.Disk is not null && !File.Exists(t.Disk)) e.Add(p + $"{f}.Disk '{t.Disk}' does not exist.");
            if (t.Initrd is not null && t.Kernel is null) e.Add(p + $"{f}.Initrd needs Kernel.");
            if (t.Initrd is not null && !File.Exists(t.Initrd)) e.Add(p + $"{f}.Initrd '{t.Initrd}' does not exist.");
            if (t.KernelArguments.Any(char.IsControl)) e.Add(p + $"{f}.KernelArguments must not contain control characters.");
            if (t.Cpus is < 1 or > 256) e.Add(p + $"{f}.Cpus must be between 1 and 256.");
            if (t.MemoryMiB is < 64 or > 4 * 1024 * 1024) e.Add(p + $"{f}.MemoryMiB must be between 64 and 4194304.");
            if (t.GpuPassthrough && t.GpuHostAddresses.Count == 0) e.Add(p + $"{f}.GpuHostAddresses: GpuPassthrough needs at least one PCI address.");
            if (!t.GpuPassthrough && t.GpuHostAddresses.Count > 0) e.Add(p + $"{f}.GpuHostAddresses are set but GpuPassthrough is off.");
            foreach (var a in t.GpuHostAddresses.Where(a => !PciAddress().IsMatch(a)))
                e.Add(p + $"{f}.GpuHostAddresses: '{a}' is not a PCI address like 0000:65:00.0.");
        }

        var nodes = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < o.Nodes.Count; i++)
        {
            var n = o.Nodes[i];
            string f = $"Nodes[{i}]";
            if (!NodeName().IsMatch(n.Name)) e.Add(p + $"{f}.Name '{n.Name}' must be 1-32 lower-case letters, digits or '-', starting with a letter or digit.");
            else if (!nodes.Add(n.Name)) e.Add(p + $"{f}.Name: the name '{n.Name}' is used twice.");
            else if (!string.IsNullOrWhiteSpace(o.StateDirectory) && Encoding.UTF8.GetByteCount(Path.Combine(o.StateDirectory, n.Name, "qga.sock")) > MaxSocketPath)
                e.Add(p + $"StateDirectory is too long: the socket path of node '{n.Name}' exceeds {MaxSocketPath} bytes.");
            if (!templates.Contains(n.Template)) e.Add(p + $"{f}.Template '{n.Template}' names no template.");
        }
        return e;
    }
}

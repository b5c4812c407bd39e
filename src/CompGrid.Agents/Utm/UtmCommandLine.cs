using System.Net;
using CompGrid.Agents.Protocol;

namespace CompGrid.Agents;

/// <summary>
/// The one place for what a <c>utmctl</c> command line may be and what its output means, shared by the portal (which
/// refuses a bad VM name before sending) and the agent (which refuses it again before running anything). Output formats
/// follow UTM's <c>utmctl</c>: <c>list</c> prints a header and one <c>UUID status name</c> row per VM (the status padded
/// to 8 characters, the name last and possibly with spaces); <c>status</c> prints one word; <c>ip-address</c> one
/// address a line, IPv4 first.
/// </summary>
internal static class UtmCommandLine
{
    /// <summary>The longest VM name accepted (UTM itself has no documented limit; this keeps requests small).</summary>
    public const int MaxVmNameLength = 200;

    /// <summary>Why <paramref name="vm"/> cannot be passed to utmctl, or null when it can.</summary>
    public static string? Refusal(string? vm)
    {
        if (string.IsNullOrWhiteSpace(vm)) return "the VM name must not be empty";
        if (vm.Length > MaxVmNameLength) return $"the VM name must be at most {MaxVmNameLength} characters";
        // Even after "--" a leading dash is refused: an older utmctl, or a wrapper, might still read it as an option.
        if (vm[0] == '-') return $"the VM name '{vm}' must not start with '-'";
        if (vm.Any(char.IsControl)) return "the VM name must not contain control characters";
        if (vm != vm.Trim()) return "the VM name must not start or end with white space";
        return null;
    }

    /// <summary>The argument list for <paramref name="command"/> (never a shell string). The VM name comes after <c>--</c>.</summary>
    public static IReadOnlyList<string> Arguments(UtmCommand command, string vm)
    {
        if (command == UtmCommand.List) return ["list"];
        if (Refusal(vm) is { } refusal) throw new ArgumentException(refusal, nameof(vm));
        return command switch
        {
            UtmCommand.Status => ["status", "--", vm],
            UtmCommand.Start => ["start", "--", vm],
            UtmCommand.Suspend => ["suspend", "--", vm],
            UtmCommand.RequestStop => ["stop", "--request", "--", vm],
            UtmCommand.Stop => ["stop", "--force", "--", vm],
            UtmCommand.IpAddress => ["ip-address", "--", vm],
            _ => throw new ArgumentOutOfRangeException(nameof(command), command, "not a utmctl command this agent runs"),
        };
    }

    public static UtmVmStatus ParseStatus(string word) => word.Trim() switch
    {
        "stopped" => UtmVmStatus.Stopped,
        "starting" => UtmVmStatus.Starting,
        "started" => UtmVmStatus.Started,
        "pausing" => UtmVmStatus.Pausing,
        "paused" => UtmVmStatus.Paused,
        "resuming" => UtmVmStatus.Resuming,
        "stopping" => UtmVmStatus.Stopping,
        _ => UtmVmStatus.Unknown,
    };

    /// <summary>Parses <c>utmctl list</c>; lines that are not <c>UUID status name</c> rows (the header, blanks) are skipped.</summary>
    public static IReadOnlyList<UtmVirtualMachine> ParseList(string output)
    {
        var vms = new List<UtmVirtualMachine>();
        foreach (string raw in output.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            // "UUID" (36 characters), a space, the status padded to 8, a space, the name (the rest of the line).
            int first = line.IndexOf(' ', StringComparison.Ordinal);
            if (first != 36 || !Guid.TryParse(line.AsSpan(0, 36), out _)) continue;
            string rest = line[(first + 1)..];
            int second = rest.IndexOf(' ', StringComparison.Ordinal);
            if (second <= 0) continue;
            string status = rest[..second];
            string name = rest[second..].TrimStart(' ');
            if (name.Length == 0) continue;
            vms.Add(new UtmVirtualMachine { Id = line[..36], Name = name, Status = ParseStatus(status) });
        }
        return vms;
    }

    /// <summary>Parses <c>utmctl ip-address</c>: one address a line; anything that is not an address is skipped.</summary>
    public static IReadOnlyList<string> ParseAddresses(string output) =>
        [.. output.Split('\n').Select(l => l.Trim()).Where(l => IPAddress.TryParse(l, out _))];
}

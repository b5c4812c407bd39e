using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace CompGrid.Agents;

/// <summary>Validates <see cref="AgentBackendOptions"/> at start-up with messages naming the setting and the rule.</summary>
internal sealed partial class AgentBackendOptionsValidator(string name) : IValidateOptions<AgentBackendOptions>
{
    public ValidateOptionsResult Validate(string? optionsName, AgentBackendOptions options)
    {
        if (optionsName != name) return ValidateOptionsResult.Skip;
        var errors = Errors(name, options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")]
    private static partial Regex MachineName();

    [GeneratedRegex("^[0-9a-fA-F]{64}$")]
    private static partial Regex Sha256Hex();

    internal static List<string> Errors(string backend, AgentBackendOptions o)
    {
        var errors = new List<string>();
        string at = $"Agent backend '{backend}': ";
        foreach (var (machine, m) in o.Machines)
        {
            string field = $"{at}Machines:{machine}";
            if (!MachineName().IsMatch(machine)) errors.Add($"{field}: the machine name must be 1–63 letters, digits, '.', '_' or '-'.");
            if (m is null) { errors.Add($"{field}: must not be empty."); continue; }
            if (!Sha256Hex().IsMatch(m.TokenSha256)) errors.Add($"{field}:TokenSha256 must be the SHA-256 of the token as 64 hex digits.");
            if (m.MaxCpus is <= 0) errors.Add($"{field}:MaxCpus must be positive when set.");
            if (m.MaxMemoryMiB is <= 0) errors.Add($"{field}:MaxMemoryMiB must be positive when set.");
        }
        var hashes = o.Machines.Where(kv => kv.Value is not null).GroupBy(kv => kv.Value.TokenSha256.ToLowerInvariant()).Where(g => g.Count() > 1);
        foreach (var g in hashes) errors.Add($"{at}Machines {string.Join(", ", g.Select(kv => kv.Key))} share one token; each machine needs its own.");
        if (o.HeartbeatInterval <= TimeSpan.Zero) errors.Add($"{at}HeartbeatInterval must be positive.");
        if (o.HeartbeatTimeout <= o.HeartbeatInterval) errors.Add($"{at}HeartbeatTimeout must be longer than HeartbeatInterval.");
        if (o.ReconnectGracePeriod < TimeSpan.Zero) errors.Add($"{at}ReconnectGracePeriod must not be negative.");
        if (o.MaxLogBytes <= 0) errors.Add($"{at}MaxLogBytes must be positive.");
        if (o.RetainedJobs < 0) errors.Add($"{at}RetainedJobs must not be negative.");
        if (o.Partitions.Count == 0) errors.Add($"{at}Partitions must list at least one partition.");
        if (o.UtmCommandTimeout <= TimeSpan.Zero) errors.Add($"{at}UtmCommandTimeout must be positive.");
        foreach (var (node, vm) in o.UtmVirtualMachines)
        {
            string field = $"{at}UtmVirtualMachines:{node}";
            if (vm is null) { errors.Add($"{field}: must not be empty."); continue; }
            if (!o.Machines.TryGetValue(node, out var machine) || machine is null)
                errors.Add($"{field}: the node must also be a machine in Machines (the agent inside the VM needs its own token).");
            else if (machine.MaxCpus is null || machine.MaxMemoryMiB is null)
                errors.Add($"{field}: Machines:{node}:MaxCpus and MaxMemoryMiB must be set (what the VM offers while it is off).");
            if (!o.Machines.ContainsKey(vm.Host) || vm.Host == node)
                errors.Add($"{field}:Host must name another machine in Machines: the Mac whose agent runs utmctl (got '{vm.Host}').");
            if (UtmCommandLine.Refusal(vm.Vm) is { } refusal) errors.Add($"{field}:Vm: {refusal}.");
            if (vm.StartTimeout <= TimeSpan.Zero) errors.Add($"{field}:StartTimeout must be positive.");
            if (vm.StopGracePeriod < TimeSpan.Zero) errors.Add($"{field}:StopGracePeriod must not be negative.");
        }
        return errors;
    }
}

using System.Text.RegularExpressions;
using CompGrid.Local.Sandbox;
using Microsoft.Extensions.Options;

namespace CompGrid.Local;

/// <summary>Validates <see cref="LocalBackendOptions"/> at start-up with messages naming the option and the rule.</summary>
internal sealed partial class LocalBackendOptionsValidator : IValidateOptions<LocalBackendOptions>
{
    [GeneratedRegex("^[a-z_][a-z0-9_.-]{0,31}$", RegexOptions.CultureInvariant)]
    private static partial Regex AccountName();

    [GeneratedRegex("^/?[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", RegexOptions.CultureInvariant)]
    private static partial Regex CgroupPath();

    public ValidateOptionsResult Validate(string? name, LocalBackendOptions options)
    {
        var errors = Errors(name ?? "local", options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public static List<string> Errors(string name, LocalBackendOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        var e = new List<string>();
        string p = $"Local backend '{name}': ";
        if (string.IsNullOrWhiteSpace(o.StateDirectory)) e.Add(p + "StateDirectory is required.");
        if (!File.Exists(o.Shell)) e.Add(p + $"Shell '{o.Shell}' does not exist.");
        if (o.KillGracePeriod < TimeSpan.Zero) e.Add(p + "KillGracePeriod must not be negative.");
        if (o.SampleInterval <= TimeSpan.Zero) e.Add(p + "SampleInterval must be positive.");
        if (o.MaxLogBytes < 1) e.Add(p + "MaxLogBytes must be at least 1.");
        if (o.MaxProcesses < 0) e.Add(p + "MaxProcesses must not be negative (0 means no limit).");
        if (string.IsNullOrWhiteSpace(o.CgroupRoot) || !CgroupPath().IsMatch(o.CgroupRoot) || o.CgroupRoot.Split('/').Any(s => s is "." or ".."))
            e.Add(p + $"CgroupRoot '{o.CgroupRoot}' must be a cgroup path of letters, digits, '_', '.', '-' and '/' without '.' or '..' segments.");
        foreach (var (n, i) in o.Nodes.Select((n, i) => (n, i)))
        {
            if (string.IsNullOrWhiteSpace(n.Name)) e.Add(p + $"Nodes[{i}].Name is required.");
            if (n.Cpus < 1) e.Add(p + $"Nodes[{i}].Cpus must be at least 1.");
            if (n.MemoryMiB < 1) e.Add(p + $"Nodes[{i}].MemoryMiB must be at least 1.");
        }
        var dup = o.Nodes.GroupBy(n => n.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) e.Add(p + $"Nodes: the name '{dup.Key}' is used twice.");

        bool root = Environment.IsPrivilegedProcess;
        if (o.JobUserIds is { } range)
        {
            if (UidRange.TryParse(range) is not { } r) e.Add(p + $"JobUserIds '{range}' must be 'first-last' with 1000 <= first <= last <= 4294967293.");
            else if (!root) e.Add(p + "JobUserIds: giving each job a uid of its own needs the host to run as root.");
            else if (r.Contains(65534)) e.Add(p + "JobUserIds must not include 65534 (nobody).");
        }
        var accounts = new List<(string Field, string Account)>();
        if (o.RunAsUser is not null) accounts.Add(("RunAsUser", o.RunAsUser));
        accounts.AddRange(o.OwnerAccounts.Select(kv => ($"OwnerAccounts[{kv.Key}]", kv.Value)));
        if (!root && accounts.Count > 0)
            e.Add(p + $"{accounts[0].Field}: running jobs as another account needs the host to run as root; unset RunAsUser and OwnerAccounts (jobs then run as the host's own user).");
        foreach (var (field, account) in accounts)
        {
            if (!AccountName().IsMatch(account)) { e.Add(p + $"{field}: '{account}' is not a valid account name."); continue; }
            if (!root) continue;
            var resolved = Accounts.Find(account);
            if (resolved is null) e.Add(p + $"{field}: the account '{account}' does not exist on this machine.");
            else if (resolved.Uid == 0 && !o.AllowRunAsRoot) e.Add(p + $"{field}: '{account}' is root; jobs never run as root unless AllowRunAsRoot is set.");
        }
        if (root && o.RunAsUser is null && Accounts.Find(Accounts.DefaultRunAsUser) is null)
            e.Add(p + $"RunAsUser: the default account '{Accounts.DefaultRunAsUser}' does not exist on this machine; name an unprivileged account.");
        return e;
    }
}

using Microsoft.Extensions.Options;

namespace CompGrid.Policy;

/// <summary>
/// The one validator of <see cref="JobPolicyOptions"/>: used by DI (<c>ValidateOnStart</c>) and by
/// <see cref="JobPolicy.Create"/>. Each failure names the option and the rule.
/// </summary>
public sealed class JobPolicyOptionsValidator : IValidateOptions<JobPolicyOptions>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, JobPolicyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        foreach (string role in options.UnrestrictedRoles)
            if (string.IsNullOrWhiteSpace(role)) failures.Add("UnrestrictedRoles: role names must not be empty");
        if (options.Default is null) failures.Add("Default: is required");
        else ValidateRule("Default", options.Default, failures);
        foreach (var (role, rule) in options.Roles)
        {
            if (string.IsNullOrWhiteSpace(role)) failures.Add("Roles: role names must not be empty");
            if (rule is null) failures.Add($"Roles:{role}: is required");
            else ValidateRule($"Roles:{role}", rule, failures);
        }
        foreach (var (grant, rule) in options.Grants)
        {
            if (string.IsNullOrWhiteSpace(grant)) failures.Add("Grants: grant codes must not be empty");
            if (rule is null) failures.Add($"Grants:{grant}: is required");
            else ValidateRule($"Grants:{grant}", rule, failures);
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateRule(string path, JobPolicyRule rule, List<string> failures)
    {
        if (rule.MinNice is < -10_000 or > 10_000) failures.Add($"{path}:MinNice: must be between -10000 and 10000");
        CheckList(path, "AllowedQos", rule.AllowedQos, failures);
        CheckList(path, "AllowedPartitions", rule.AllowedPartitions, failures);
        CheckList(path, "AllowedBackends", rule.AllowedBackends, failures);
        CheckList(path, "AllowedRegistries", rule.AllowedRegistries, failures);
        if (rule.MaxCpus is < 1) failures.Add($"{path}:MaxCpus: must be at least 1");
        if (rule.MaxNodes is < 1) failures.Add($"{path}:MaxNodes: must be at least 1");
        if (rule.MaxGpus is < 0) failures.Add($"{path}:MaxGpus: must not be negative");
        if (rule.MaxMemoryMiB is < 1) failures.Add($"{path}:MaxMemoryMiB: must be at least 1");
        if (rule.MaxWalltime is { } w && w <= TimeSpan.Zero) failures.Add($"{path}:MaxWalltime: must be positive");
    }

    private static void CheckList(string path, string option, IList<string> values, List<string> failures)
    {
        if (values is null) { failures.Add($"{path}:{option}: must not be null"); return; }
        foreach (string v in values)
            if (string.IsNullOrWhiteSpace(v) || v.Any(char.IsControl)) { failures.Add($"{path}:{option}: entries must be non-empty names without control characters"); return; }
    }
}

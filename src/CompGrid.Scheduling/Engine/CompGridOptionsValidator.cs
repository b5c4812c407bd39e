using Microsoft.Extensions.Options;

namespace CompGrid;

/// <summary>
/// Validates <see cref="CompGridOptions"/> when the options are first read (the engine's construction, or the host's
/// start through <c>ValidateOnStart</c>), with messages naming the setting and the rule. Policy names are checked
/// later, by <see cref="CompGridEngine.StartAsync"/>, because only the policy registry knows them.
/// </summary>
internal sealed class CompGridOptionsValidator : IValidateOptions<CompGridOptions>
{
    // Longer walltimes overflow the arithmetic of reservations and quotes (ticks and seconds as long).
    private static readonly TimeSpan LongestWalltime = TimeSpan.FromDays(3650);

    public ValidateOptionsResult Validate(string? name, CompGridOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = Check(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    internal static List<string> Check(CompGridOptions o)
    {
        var errors = new List<string>();
        if (o.DefaultWalltime <= TimeSpan.Zero) errors.Add($"CompGrid:DefaultWalltime must be positive (got {o.DefaultWalltime}).");
        if (o.MaxWalltime <= TimeSpan.Zero || o.MaxWalltime > LongestWalltime)
            errors.Add($"CompGrid:MaxWalltime must be positive and at most {LongestWalltime.TotalDays:0} days (got {o.MaxWalltime}).");
        else if (o.DefaultWalltime > o.MaxWalltime)
            errors.Add($"CompGrid:DefaultWalltime ({o.DefaultWalltime}) must not be longer than CompGrid:MaxWalltime ({o.MaxWalltime}).");
        if (o.DefaultMemoryMiBPerCpu <= 0) errors.Add($"CompGrid:DefaultMemoryMiBPerCpu must be positive (got {o.DefaultMemoryMiBPerCpu}).");
        if (o.DefaultBackend is { } backend && string.IsNullOrWhiteSpace(backend))
            errors.Add("CompGrid:DefaultBackend must be a backend name or unset (null), not blank.");
        if (string.IsNullOrWhiteSpace(o.PlacementPolicy)) errors.Add("CompGrid:PlacementPolicy must name a placement policy (for example first-fit).");
        if (string.IsNullOrWhiteSpace(o.QueueOrdering)) errors.Add("CompGrid:QueueOrdering must name a queue ordering policy (for example priority).");
        if (o.PollInterval <= TimeSpan.Zero) errors.Add($"CompGrid:PollInterval must be positive (got {o.PollInterval}).");
        if (o.MaxDispatchPerCycle <= 0) errors.Add($"CompGrid:MaxDispatchPerCycle must be positive (got {o.MaxDispatchPerCycle}).");
        if (o.PriorityRecalculationInterval <= TimeSpan.Zero) errors.Add($"CompGrid:PriorityRecalculationInterval must be positive (got {o.PriorityRecalculationInterval}).");
        return errors;
    }
}

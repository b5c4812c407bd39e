using Microsoft.Extensions.Options;

namespace CompGrid.Scheduling.Power;

/// <summary>Validates <see cref="PowerManagerOptions"/>; used by DI (<c>ValidateOnStart</c>) and by <see cref="PowerManager.Create"/>.</summary>
internal sealed class PowerManagerOptionsValidator : IValidateOptions<PowerManagerOptions>
{
    public ValidateOptionsResult Validate(string? name, PowerManagerOptions options)
    {
        var errors = Errors(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public static List<string> Errors(PowerManagerOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        var e = new List<string>();
        const string p = "CompGrid:Power: ";
        if (o.IdleTime <= TimeSpan.Zero) e.Add(p + "IdleTime must be positive.");
        if (o.ResumeTimeout <= TimeSpan.Zero) e.Add(p + "ResumeTimeout must be positive.");
        if (o.SuspendTimeout <= TimeSpan.Zero) e.Add(p + "SuspendTimeout must be positive.");
        if (o.ResumeRate < 0) e.Add(p + "ResumeRate must not be negative (0 means no limit).");
        if (o.SuspendRate < 0) e.Add(p + "SuspendRate must not be negative (0 means no limit).");
        if (o.Interval <= TimeSpan.Zero) e.Add(p + "Interval must be positive.");
        if (o.SuspendExcludedNodes is null) e.Add(p + "SuspendExcludedNodes must not be null.");
        else foreach (string n in o.SuspendExcludedNodes)
            if (string.IsNullOrWhiteSpace(n) || n.IndexOf('/', StringComparison.Ordinal) is <= 0 || n.EndsWith('/'))
                e.Add(p + $"SuspendExcludedNodes: '{n}' must be backend/node.");
        if (o.SuspendExcludedPartitions is null) e.Add(p + "SuspendExcludedPartitions must not be null.");
        else if (o.SuspendExcludedPartitions.Any(string.IsNullOrWhiteSpace)) e.Add(p + "SuspendExcludedPartitions must not contain an empty name.");
        return e;
    }
}

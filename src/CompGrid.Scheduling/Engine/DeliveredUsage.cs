using CompGrid.Metering;
using Microsoft.Extensions.Logging;

namespace CompGrid;

/// <summary>
/// Turns what a backend's accounting reported for an ended job into the usage record the engine stores and delivers
/// to the usage sinks, by the rule of <see cref="ObservedUsage"/>: identity, account and allocation from the stored
/// job, times only inside the window the engine observed (dispatch to now, on its own clock), measurements capped; a
/// disagreeing report is clamped, flagged (<see cref="UsageRecord.Flags"/>) and logged. The one place this rule is applied.
/// </summary>
internal sealed class DeliveredUsage(JobRouter defaults, TimeProvider time, ILogger logger)
{
    /// <summary>The usage to deliver for <paramref name="job"/>, from <paramref name="reported"/> (null when the backend has none).</summary>
    public UsageRecord For(JobRecord job, UsageRecord? reported)
    {
        var usage = ObservedUsage.Meter(job, reported, defaults.MemoryPerNode(job.Spec), time.GetUtcNow());
        if (usage.Flags != UsageFlags.None) Log.UsageClamped(logger, job.Id, job.Backend ?? "-", usage.Flags, string.Join("; ", usage.Adjustments));
        return usage;
    }
}

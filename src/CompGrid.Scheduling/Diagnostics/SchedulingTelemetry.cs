using System.Diagnostics.Metrics;

namespace CompGrid;

/// <summary>
/// How long scheduling takes, on CompGrid's one Meter (<see cref="CompGridDiagnostics"/>): the engine's whole cycle,
/// and the scheduling pass over each backend's queue (ordering, limits, placement, EASY backfill, pending reasons).
/// Durations come from the engine's <see cref="TimeProvider"/> timestamps.
/// </summary>
internal static class SchedulingTelemetry
{
    /// <summary>Instrument names, as a host's dashboards and alerts find them.</summary>
    public const string CycleDurationName = "compgrid.scheduler.cycle.duration", PlacementDurationName = "compgrid.placement.duration";

    /// <summary>The tag of <see cref="PlacementDuration"/>: the backend whose queue was scheduled.</summary>
    public const string BackendTag = "backend";

    /// <summary>One engine cycle: tracking running jobs, then scheduling and dispatching every backend's queue.</summary>
    public static readonly Histogram<double> CycleDuration = CompGridDiagnostics.Meter.CreateHistogram<double>(CycleDurationName, unit: "s",
        description: "Duration of one scheduler cycle (tracking, scheduling and dispatch)");

    /// <summary>One scheduling pass over a backend's queue, before dispatch.</summary>
    public static readonly Histogram<double> PlacementDuration = CompGridDiagnostics.Meter.CreateHistogram<double>(PlacementDurationName, unit: "s",
        description: "Duration of one scheduling pass over a backend's queue (ordering, limits, placement, backfill)");

    /// <summary>Records <paramref name="histogram"/> from a <paramref name="time"/> timestamp taken at the start.</summary>
    public static void RecordSince(Histogram<double> histogram, TimeProvider time, long startTimestamp, string? backend = null)
    {
        if (!histogram.Enabled) return;
        double seconds = time.GetElapsedTime(startTimestamp).TotalSeconds;
        if (backend is null) histogram.Record(seconds);
        else histogram.Record(seconds, new KeyValuePair<string, object?>(BackendTag, backend));
    }
}

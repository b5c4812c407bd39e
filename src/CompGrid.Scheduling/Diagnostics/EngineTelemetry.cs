using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace CompGrid;

/// <summary>The engine's traces and metrics, on the shared <c>CompGrid</c> ActivitySource and Meter names.</summary>
internal static class EngineTelemetry
{
    /// <summary>Spans: <c>compgrid.submit</c>, <c>compgrid.dispatch</c>.</summary>
    public static readonly ActivitySource Source = new(CompGridDiagnostics.SourceName);

    private static readonly Meter s_meter = new(CompGridDiagnostics.SourceName);

    /// <summary>Jobs admitted.</summary>
    public static readonly Counter<long> Submitted = s_meter.CreateCounter<long>("compgrid.jobs.submitted", description: "Jobs admitted");

    /// <summary>Jobs that reached a terminal state.</summary>
    public static readonly Counter<long> Finished = s_meter.CreateCounter<long>("compgrid.jobs.finished", description: "Jobs that reached a terminal state");
}

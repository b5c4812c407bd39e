using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace CompGrid;

/// <summary>The engine's traces and metrics, on CompGrid's one ActivitySource and Meter (<see cref="CompGridDiagnostics"/>).</summary>
internal static class EngineTelemetry
{
    /// <summary>Instrument names, as a host's dashboards and alerts find them.</summary>
    public const string SubmittedName = "compgrid.jobs.submitted", FinishedName = "compgrid.jobs.finished";

    /// <summary>The tag of <see cref="Finished"/>: the terminal state (<c>Completed</c>, <c>Failed</c>, …).</summary>
    public const string StateTag = "state";

    /// <summary>Spans: <c>compgrid.submit</c>, <c>compgrid.dispatch</c>.</summary>
    public static ActivitySource Source => CompGridDiagnostics.ActivitySource;

    private static readonly Meter s_meter = CompGridDiagnostics.Meter;

    /// <summary>Jobs admitted.</summary>
    public static readonly Counter<long> Submitted = s_meter.CreateCounter<long>(SubmittedName, description: "Jobs admitted");

    /// <summary>Jobs that reached a terminal state.</summary>
    public static readonly Counter<long> Finished = s_meter.CreateCounter<long>(FinishedName, description: "Jobs that reached a terminal state");
}

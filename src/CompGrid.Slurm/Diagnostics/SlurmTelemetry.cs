using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace CompGrid.Slurm;

/// <summary>The Slurm backend's traces and metrics, on CompGrid's one ActivitySource and Meter (<see cref="CompGridDiagnostics"/>).</summary>
internal static class SlurmTelemetry
{
    /// <summary>Instrument names, as a host's dashboards and alerts find them.</summary>
    public const string CallDurationName = "compgrid.slurm.call.duration", ErrorsName = "compgrid.slurm.errors";

    /// <summary>Tag names: the backend operation (<c>submit</c>, <c>status</c>, …), the cluster's backend name, the error code.</summary>
    public const string OperationTag = "operation", BackendTag = "backend", CodeTag = "code";

    /// <summary>Spans: <c>compgrid.slurm.call</c>, one per backend operation (retries included), tagged with operation and backend.</summary>
    public const string CallSpanName = "compgrid.slurm.call";

    /// <summary>Seconds per backend operation through the resilience pipeline, failed ones included.</summary>
    public static readonly Histogram<double> CallDuration = CompGridDiagnostics.Meter.CreateHistogram<double>(
        CallDurationName, unit: "s", description: "Duration of Slurm backend operations (tagged by operation and backend)");

    /// <summary>Backend operations that failed after the pipeline's retries, tagged by CompGrid error code.</summary>
    public static readonly Counter<long> Errors = CompGridDiagnostics.Meter.CreateCounter<long>(
        ErrorsName, description: "Slurm backend operations that failed (tagged by operation, backend and error code)");

    public static Activity? StartCall(string operation, string backend)
    {
        var activity = CompGridDiagnostics.ActivitySource.StartActivity(CallSpanName, ActivityKind.Client);
        activity?.SetTag(OperationTag, operation);
        activity?.SetTag(BackendTag, backend);
        return activity;
    }

    public static void Record(string operation, string backend, TimeSpan elapsed, CompGridException? error, Activity? activity)
    {
        var tags = new TagList { { OperationTag, operation }, { BackendTag, backend } };
        CallDuration.Record(elapsed.TotalSeconds, tags);
        if (error is null) return;
        tags.Add(CodeTag, error.Code);
        Errors.Add(1, tags);
        activity?.SetStatus(ActivityStatusCode.Error, error.Code);
    }
}

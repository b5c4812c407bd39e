using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace CompGrid.Docker;

/// <summary>The Docker backend's traces and metrics, on CompGrid's one ActivitySource and Meter (<see cref="CompGridDiagnostics"/>).</summary>
internal static class DockerTelemetry
{
    /// <summary>Instrument names, as a host's dashboards and alerts find them.</summary>
    public const string CallDurationName = "compgrid.docker.call.duration", ErrorsName = "compgrid.docker.errors";

    /// <summary>Tag names: the Engine API operation (<c>create</c>, <c>logs</c>, …), the engine's node name, the error code.</summary>
    public const string OperationTag = "operation", NodeTag = "node", CodeTag = "code";

    /// <summary>Spans: <c>compgrid.docker.call</c>, one per Engine API call, tagged with the operation and node.</summary>
    public const string CallSpanName = "compgrid.docker.call";

    /// <summary>Seconds per Engine API call, failed calls included.</summary>
    public static readonly Histogram<double> CallDuration = CompGridDiagnostics.Meter.CreateHistogram<double>(
        CallDurationName, unit: "s", description: "Duration of Docker Engine API calls (tagged by operation and node)");

    /// <summary>Engine API calls that failed, tagged by CompGrid error code.</summary>
    public static readonly Counter<long> Errors = CompGridDiagnostics.Meter.CreateCounter<long>(
        ErrorsName, description: "Docker Engine API calls that failed (tagged by operation, node and error code)");

    public static Activity? StartCall(string operation, string node)
    {
        var activity = CompGridDiagnostics.ActivitySource.StartActivity(CallSpanName, ActivityKind.Client);
        activity?.SetTag(OperationTag, operation);
        activity?.SetTag(NodeTag, node);
        return activity;
    }

    public static void Record(string operation, string node, TimeSpan elapsed, CompGridException? error, Activity? activity)
    {
        var tags = new TagList { { OperationTag, operation }, { NodeTag, node } };
        CallDuration.Record(elapsed.TotalSeconds, tags);
        if (error is null) return;
        tags.Add(CodeTag, error.Code);
        Errors.Add(1, tags);
        activity?.SetStatus(ActivityStatusCode.Error, error.Code);
    }
}

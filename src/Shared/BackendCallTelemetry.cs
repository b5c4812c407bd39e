using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace CompGrid;

/// <summary>
/// One adapter's calls to its external system as CompGrid telemetry, on the one ActivitySource and Meter
/// (<see cref="CompGridDiagnostics"/>): a <c>compgrid.&lt;kind&gt;.call</c> span per call, a
/// <c>compgrid.&lt;kind&gt;.call.duration</c> histogram (seconds, failed calls included) and a
/// <c>compgrid.&lt;kind&gt;.errors</c> counter tagged by CompGrid error code. Linked into each adapter package (not
/// public API: the instrument names are the contract, catalogued in docs/telemetry.md).
/// </summary>
internal sealed class BackendCallTelemetry
{
    /// <summary>Tag names shared by every adapter: the operation and the error code.</summary>
    public const string OperationTag = "operation", CodeTag = "code";

    private readonly string _scopeTag;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _errors;

    /// <param name="kind">The adapter's name in instrument names (<c>docker</c>, <c>slurm</c>).</param>
    /// <param name="scopeTag">The tag naming where the call went (<c>node</c>, <c>backend</c>).</param>
    /// <param name="calls">What one call is, for the instrument descriptions ("Docker Engine API calls").</param>
    public BackendCallTelemetry(string kind, string scopeTag, string calls)
    {
        _scopeTag = scopeTag;
        CallSpanName = $"compgrid.{kind}.call";
        CallDurationName = $"compgrid.{kind}.call.duration";
        ErrorsName = $"compgrid.{kind}.errors";
        _duration = CompGridDiagnostics.Meter.CreateHistogram<double>(CallDurationName, unit: "s", description: $"Duration of {calls} (tagged by {OperationTag} and {scopeTag})");
        _errors = CompGridDiagnostics.Meter.CreateCounter<long>(ErrorsName, description: $"{calls} that failed (tagged by {OperationTag}, {scopeTag} and error {CodeTag})");
    }

    /// <summary>The span's name.</summary>
    public string CallSpanName { get; }

    /// <summary>The duration histogram's name.</summary>
    public string CallDurationName { get; }

    /// <summary>The error counter's name.</summary>
    public string ErrorsName { get; }

    /// <summary>Starts the call's span (null when nobody listens).</summary>
    public Activity? StartCall(string operation, string scope)
    {
        var activity = CompGridDiagnostics.ActivitySource.StartActivity(CallSpanName, ActivityKind.Client);
        activity?.SetTag(OperationTag, operation);
        activity?.SetTag(_scopeTag, scope);
        return activity;
    }

    /// <summary>Records the call's duration, and its error when it failed.</summary>
    public void Record(string operation, string scope, TimeSpan elapsed, CompGridException? error, Activity? activity)
    {
        var tags = new TagList { { OperationTag, operation }, { _scopeTag, scope } };
        _duration.Record(elapsed.TotalSeconds, tags);
        if (error is null) return;
        tags.Add(CodeTag, error.Code);
        _errors.Add(1, tags);
        activity?.SetStatus(ActivityStatusCode.Error, error.Code);
    }
}

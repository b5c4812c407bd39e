namespace CompGrid;

/// <summary>Names of CompGrid's telemetry sources, for OpenTelemetry registration.</summary>
public static class CompGridDiagnostics
{
    /// <summary>The name of the <see cref="System.Diagnostics.ActivitySource"/> and of the <see cref="System.Diagnostics.Metrics.Meter"/>: <c>CompGrid</c>.</summary>
    public const string SourceName = "CompGrid";
}

using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;

namespace CompGrid;

/// <summary>
/// CompGrid's telemetry sources. Every package records on the one <see cref="Meter"/> and the one
/// <see cref="ActivitySource"/> named <see cref="SourceName"/>, so a host registers a single name with OpenTelemetry
/// (<c>AddMeter("CompGrid")</c>, <c>AddSource("CompGrid")</c>). Each package keeps its instruments, with their names
/// as constants, in one internal telemetry class.
/// </summary>
public static class CompGridDiagnostics
{
    /// <summary>The name of the <see cref="System.Diagnostics.ActivitySource"/> and of the <see cref="System.Diagnostics.Metrics.Meter"/>: <c>CompGrid</c>.</summary>
    public const string SourceName = "CompGrid";

    /// <summary>The version the sources report: CompGrid's informational version.</summary>
    public static string Version { get; } =
        typeof(CompGridDiagnostics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    /// <summary>The shared meter. Packages create their instruments on it once, in static fields.</summary>
    public static Meter Meter { get; } = new(SourceName, Version);

    /// <summary>The shared activity source.</summary>
    public static ActivitySource ActivitySource { get; } = new(SourceName, Version);
}

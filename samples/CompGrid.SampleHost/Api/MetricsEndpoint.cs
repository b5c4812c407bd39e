using OpenTelemetry.Metrics;

namespace CompGrid.SampleHost.Api;

/// <summary>
/// <c>GET /metrics</c>: Prometheus text from the <c>CompGrid</c> Meter (every package's counters, histograms and the
/// scheduler's gauges) through OpenTelemetry. The exporter is a beta package, so only this sample host uses it; the
/// library packages record on <see cref="CompGridDiagnostics.Meter"/> with <c>System.Diagnostics</c> alone. The endpoint
/// is anonymous, as scrapers expect: bind the host to an internal address or put it behind the proxy's access rules
/// if job counts are not for everyone.
/// </summary>
public static class MetricsEndpoint
{
    /// <summary>The path scrapers read.</summary>
    public const string Path = "/metrics";

    /// <summary>Adds OpenTelemetry metrics for the CompGrid Meter with the Prometheus exporter.</summary>
    public static IServiceCollection AddPortalMetrics(this IServiceCollection services)
    {
        services.AddOpenTelemetry().WithMetrics(m => m.AddMeter(CompGridDiagnostics.SourceName).AddPrometheusExporter());
        return services;
    }

    /// <summary>Maps <see cref="Path"/>, anonymous.</summary>
    public static IEndpointRouteBuilder MapPortalMetrics(this IEndpointRouteBuilder app)
    {
        app.MapPrometheusScrapingEndpoint(Path).AllowAnonymous();
        return app;
    }
}

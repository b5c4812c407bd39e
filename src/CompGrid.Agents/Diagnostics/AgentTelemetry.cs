using System.Diagnostics.Metrics;

namespace CompGrid.Agents;

/// <summary>The agent backend's metrics, on CompGrid's one Meter (<see cref="CompGridDiagnostics.Meter"/>).</summary>
internal static class AgentTelemetry
{
    /// <summary>Instrument names, as a host's dashboards and alerts find them.</summary>
    public const string RegistrationsName = "compgrid.agents.registrations", LostName = "compgrid.agents.lost";

    /// <summary>Agent registrations (connects and reconnects).</summary>
    public static readonly Counter<long> Registrations = CompGridDiagnostics.Meter.CreateCounter<long>(RegistrationsName, description: "Agent registrations (connects and reconnects)");

    /// <summary>Machines marked down after missing their heartbeats.</summary>
    public static readonly Counter<long> Lost = CompGridDiagnostics.Meter.CreateCounter<long>(LostName, description: "Agent machines marked down after missing heartbeats");
}

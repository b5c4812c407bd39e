using System.Diagnostics.Metrics;

namespace CompGrid.Billing;

/// <summary>Billing's instruments, on CompGrid's one meter (<see cref="CompGridDiagnostics.Meter"/>).</summary>
internal static class BillingTelemetry
{
    /// <summary>Instrument names, as a host's dashboards and alerts find them.</summary>
    public const string HoldsName = "compgrid.billing.holds", RefusalsName = "compgrid.billing.refusals",
        ChargesName = "compgrid.billing.charges", AmountName = "compgrid.billing.charged";

    public static readonly Counter<long> Holds = CompGridDiagnostics.Meter.CreateCounter<long>(HoldsName, description: "Holds placed at admission");
    public static readonly Counter<long> Refusals = CompGridDiagnostics.Meter.CreateCounter<long>(RefusalsName, description: "Jobs refused by billing (tagged by reason code)");
    public static readonly Counter<long> Charges = CompGridDiagnostics.Meter.CreateCounter<long>(ChargesName, description: "Jobs charged");
    public static readonly Counter<double> Amount = CompGridDiagnostics.Meter.CreateCounter<double>(AmountName, description: "Amount charged (tagged by currency)");
}

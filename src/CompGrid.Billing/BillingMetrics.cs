using System.Diagnostics.Metrics;

namespace CompGrid.Billing;

/// <summary>Billing instruments on CompGrid's one meter (<see cref="CompGridDiagnostics.SourceName"/>).</summary>
internal static class BillingMetrics
{
    private static readonly Meter s_meter = new(CompGridDiagnostics.SourceName);

    public static readonly Counter<long> Holds = s_meter.CreateCounter<long>("compgrid.billing.holds", description: "Holds placed at admission");
    public static readonly Counter<long> Refusals = s_meter.CreateCounter<long>("compgrid.billing.refusals", description: "Jobs refused by billing (tagged by reason code)");
    public static readonly Counter<long> Charges = s_meter.CreateCounter<long>("compgrid.billing.charges", description: "Jobs charged");
    public static readonly Counter<double> Amount = s_meter.CreateCounter<double>("compgrid.billing.charged", description: "Amount charged (tagged by currency)");
}

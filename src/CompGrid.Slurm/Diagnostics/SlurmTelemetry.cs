namespace CompGrid.Slurm;

/// <summary>
/// The Slurm backend's traces and metrics: one <c>compgrid.slurm.call</c> span and duration per backend operation
/// through the resilience pipeline (retries included), tagged with the operation and the cluster's backend name.
/// </summary>
internal static class SlurmTelemetry
{
    public static readonly BackendCallTelemetry Calls = new("slurm", "backend", "Slurm backend operations");
}

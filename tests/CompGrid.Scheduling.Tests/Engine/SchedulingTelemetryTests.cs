using System.Diagnostics.Metrics;
using CompGrid.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CompGrid.Scheduling.Tests.Engine;

/// <summary>The cycle and placement duration histograms, read with a <see cref="MeterListener"/> as an exporter reads them.</summary>
[Collection(GaugeCollection.Name)]
[Trait("Category", "Scheduling")]
public sealed class SchedulingTelemetryTests
{
    [Fact]
    public async Task RunCycle_RecordsTheCycleDuration_AndThePlacementDurationPerBackend()
    {
        var time = new ManualTimeProvider();
        var cycles = new List<double>();
        var placements = new List<(double Seconds, string? Backend)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == CompGridDiagnostics.SourceName
                && instrument.Name is "compgrid.scheduler.cycle.duration" or "compgrid.placement.duration")
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            string? backend = null;
            foreach (var t in tags) if (t.Key == "backend") backend = t.Value as string;
            lock (cycles)
            {
                if (instrument.Name == "compgrid.scheduler.cycle.duration") cycles.Add(value);
                else placements.Add((value, backend));
            }
        });
        listener.Start();

        var engine = CompGridEngine.Create(b => b.AddBackend(new InMemoryBackend("telemetry-mem", time, nodes: 1, cpusPerNode: 2))
            .UseJobStore(new InMemoryJobStore()).UseTimeProvider(time));
        await engine.StartAsync();
        try
        {
            await engine.SubmitAsync(new JobSpec { Name = "t", Owner = "alice", Payload = JobPayload.Command("sleep 100"), Resources = new() { Cpus = 1 } });
            int before;
            lock (cycles) before = cycles.Count;
            await engine.RunCycleAsync();
            lock (cycles)
            {
                Assert.True(cycles.Count > before, "no cycle duration was recorded for the cycle run");
                Assert.All(cycles, s => Assert.True(s >= 0));
                Assert.Contains(placements, p => p.Backend == "telemetry-mem" && p.Seconds >= 0);
            }
        }
        finally
        {
            await engine.DisposeAsync();
        }
    }
}

using System.Diagnostics.Metrics;
using CompGrid.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CompGrid.Scheduling.Tests.Engine;

/// <summary>The gauges are process-wide sums over live engines: these tests run alone, not beside other engines.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GaugeCollection
{
    public const string Name = "Gauges";
}

[Collection(GaugeCollection.Name)]
[Trait("Category", "Scheduling")]
public sealed class JobGaugesTests
{
    [Fact]
    public async Task Gauges_AfterACycle_CountJobsByState_AndTheOldestQueuedWait_AndDropTheEngineWhenItStops()
    {
        var baseline = Observe();   // engines other tests left undisposed would add theirs: compare with what they show
        var time = new ManualTimeProvider();
        var engine = CompGridEngine.Create(b => b.AddBackend(new InMemoryBackend("mem", time, nodes: 1, cpusPerNode: 2))
            .UseJobStore(new InMemoryJobStore()).UseTimeProvider(time).AddStewardship(o => o.MaxCpus = 2));
        await engine.StartAsync();
        JobSpec Job(int cpus) => new() { Name = "g", Owner = "alice", Payload = JobPayload.Command("sleep 100"), Resources = new() { Cpus = cpus } };

        await engine.SubmitAsync(Job(2));   // runs: it fills the node
        time.Advance(TimeSpan.FromSeconds(5));
        await engine.SubmitAsync(Job(2));   // queued behind it
        await engine.SubmitAsync(Job(3));   // over the stewardship limit: waits for approval
        await engine.RunCycleAsync();
        time.Advance(TimeSpan.FromSeconds(30));
        await engine.RunCycleAsync();

        var seen = Observe();
        Assert.Equal(baseline.Active["Running"] + 1, seen.Active["Running"]);
        Assert.Equal(baseline.Active["Queued"] + 1, seen.Active["Queued"]);
        Assert.Equal(baseline.Active["AwaitingApproval"] + 1, seen.Active["AwaitingApproval"]);
        Assert.Equal(Math.Max(30, baseline.OldestWait), seen.OldestWait, precision: 3);   // queued 30 s before the last cycle

        await engine.DisposeAsync();
        var after = Observe();
        Assert.Equal(baseline.Active, after.Active);
        Assert.Equal(baseline.OldestWait, after.OldestWait, precision: 3);
    }

    private static (Dictionary<string, long> Active, double OldestWait) Observe()
    {
        var active = new Dictionary<string, long> { ["Running"] = 0, ["Queued"] = 0, ["AwaitingApproval"] = 0 };
        double wait = 0;   // before any engine exists the gauges are not created yet: nothing to report
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == CompGridDiagnostics.SourceName && instrument.Name.StartsWith("compgrid.jobs.", StringComparison.Ordinal)) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument.Name != "compgrid.jobs.active") return;
            foreach (var tag in tags) if (tag.Key == "state") active[(string)tag.Value!] = value;
        });
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) =>
        {
            if (instrument.Name == "compgrid.jobs.queue.oldest_wait") wait = value;
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return (active, wait);
    }
}

using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using CompGrid.Slurm.Resilience;
using Microsoft.Extensions.Logging.Abstractions;

namespace CompGrid.Slurm.Tests.Unit;

/// <summary>The backend's operations show on CompGrid's Meter: durations per operation, failures by error code.</summary>
[Trait("Category", "Slurm")]
public sealed class TelemetryTests
{
    [Fact]
    public async Task Operations_RecordDurationAndFailuresByCode_OnTheCompGridMeter()
    {
        string backendName = "telemetry-" + Guid.NewGuid().ToString("N");
        var durations = new ConcurrentBag<string>();
        var errors = new ConcurrentBag<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == CompGridDiagnostics.SourceName && instrument.Name.StartsWith("compgrid.slurm.", StringComparison.Ordinal))
                l.EnableMeasurementEvents(instrument);
        };
        void Capture(Instrument instrument, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var t = tags.ToArray().ToDictionary(kv => kv.Key, kv => kv.Value as string);
            if (t.GetValueOrDefault("backend") != backendName) return; // other tests run in parallel
            (instrument.Name == "compgrid.slurm.errors" ? errors : durations).Add(t["operation"] + (t.TryGetValue("code", out var c) ? ":" + c : ""));
        }
        listener.SetMeasurementEventCallback<double>((i, _, tags, _) => Capture(i, tags));
        listener.SetMeasurementEventCallback<long>((i, _, tags, _) => Capture(i, tags));
        listener.Start();

        var options = new SlurmBackendOptions { OutputDirectory = "/jobs", MaxRetryAttempts = 0, RetryBaseDelay = TimeSpan.Zero, AccountingWait = TimeSpan.Zero };
        var client = new BackendResilienceTests.FakeSlurmClient();
        var backend = new SlurmComputeBackend(backendName, options, client,
            SlurmResilience.Create(backendName, options, TimeProvider.System, NullLogger.Instance), TimeProvider.System, NullLogger.Instance);
        await backend.GetNodesAsync();
        client.NodeError = new CompGridException("Invalid partition") { Code = CompGridErrorCodes.UnexpectedOutput };
        await Assert.ThrowsAsync<CompGridException>(() => backend.GetNodesAsync());

        Assert.Equal(2, durations.Count);
        Assert.All(durations, d => Assert.Equal("nodes", d));
        Assert.Equal(["nodes:" + CompGridErrorCodes.UnexpectedOutput], errors);
    }
}

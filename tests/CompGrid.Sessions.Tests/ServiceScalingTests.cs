using CompGrid.Sessions.Services;
using CompGrid.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CompGrid.Sessions.Tests;

/// <summary>The request-rate window, the scaler and the balancer on a manual clock: no process, no network.</summary>
public sealed class ServiceScalingTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private static ServiceSpec Spec(int min = 2, int? max = 5, double? target = 10) => new()
    {
        Name = "web", Owner = "alice", Payload = JobPayload.Command("true"), MinReplicas = min, MaxReplicas = max, TargetRequestsPerSecond = target,
    };

    [Fact]
    public void RateWindow_AveragesOverTheWholeWindow_AndForgetsRequestsOlderThanIt()
    {
        var clock = new ManualTimeProvider(T0);
        var rate = new RequestRateWindow(TimeSpan.FromSeconds(10), clock);
        for (int i = 0; i < 50; i++) rate.Record();
        Assert.Equal(5.0, rate.PerSecond());          // 50 requests in one second, over a 10 s window

        clock.Advance(TimeSpan.FromSeconds(5));
        for (int i = 0; i < 30; i++) rate.Record();
        Assert.Equal(8.0, rate.PerSecond());

        clock.Advance(TimeSpan.FromSeconds(5));       // the first second has left the window
        Assert.Equal(3.0, rate.PerSecond());
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(0.0, rate.PerSecond());
    }

    [Fact]
    public void Scaler_AboveTargetPerReplica_ScalesUpAtOnce_WithinTheMaximum()
    {
        var spec = Spec();
        Assert.Equal(2, ServiceScaler.Decide(spec, 2, 20.0, T0, T0, TimeSpan.FromMinutes(2)));    // exactly at target: stays
        Assert.Equal(3, ServiceScaler.Decide(spec, 2, 20.5, T0, T0, TimeSpan.FromMinutes(2)));    // above: one more, no cool-down
        Assert.Equal(5, ServiceScaler.Decide(spec, 2, 500, T0, T0, TimeSpan.FromMinutes(2)));     // never past the maximum
    }

    [Fact]
    public void Scaler_BelowTarget_ScalesDownOnlyAfterTheCoolDown_NeverBelowTheMinimum()
    {
        var spec = Spec();
        var coolDown = TimeSpan.FromMinutes(2);
        Assert.Equal(5, ServiceScaler.Decide(spec, 5, 0, T0 + TimeSpan.FromSeconds(119), T0, coolDown));
        Assert.Equal(2, ServiceScaler.Decide(spec, 5, 0, T0 + coolDown, T0, coolDown));
        Assert.Equal(3, ServiceScaler.Decide(spec, 5, 25, T0 + coolDown, T0, coolDown));
    }

    [Fact]
    public void Scaler_WithoutTarget_KeepsTheMinimum()
    {
        Assert.Equal(3, ServiceScaler.Decide(Spec(min: 3, max: null, target: null), 3, 1000, T0, T0, TimeSpan.Zero));
    }

    private static ReplicaSlot Slot(int id, ReplicaState state) => new(id, "cg-" + id, 40000 + id, T0) { State = state };

    [Fact]
    public void RoundRobin_TakesHealthyReplicasInTurn_AndSkipsTheOthers()
    {
        var balancer = new ServiceBalancer(BalancingPolicy.RoundRobin);
        ReplicaSlot[] replicas = [Slot(1, ReplicaState.Healthy), Slot(2, ReplicaState.Unhealthy), Slot(3, ReplicaState.Healthy), Slot(4, ReplicaState.Starting)];
        var picks = Enumerable.Range(0, 8).Select(_ => balancer.Pick(replicas)!.Id).ToList();
        Assert.All(picks, id => Assert.Contains(id, new[] { 1, 3 }));
        Assert.Equal(4, picks.Count(id => id == 1));
        Assert.Equal(4, picks.Count(id => id == 3));
        Assert.Null(balancer.Pick([Slot(5, ReplicaState.Unhealthy), Slot(6, ReplicaState.Starting)]));
        Assert.Null(balancer.Pick([]));
    }

    [Fact]
    public void LeastRequests_PicksTheHealthyReplicaWithFewestInFlight()
    {
        var balancer = new ServiceBalancer(BalancingPolicy.LeastRequests);
        var busy = Slot(1, ReplicaState.Healthy);
        var idle = Slot(2, ReplicaState.Healthy);
        var down = Slot(3, ReplicaState.Unhealthy);
        busy.Enter(); busy.Enter();
        for (int i = 0; i < 5; i++) Assert.Same(idle, balancer.Pick([busy, idle, down]));

        // A lease counts while it is held; failing it takes the replica out at once (passive health).
        using (var lease = new ServiceLease(idle))
        {
            Assert.Equal(1, idle.InFlight);
            idle.Enter(); idle.Enter();
            Assert.Same(busy, balancer.Pick([busy, idle, down]));
            lease.Fail();
        }
        Assert.Equal(2, idle.InFlight);
        Assert.Equal(ReplicaState.Unhealthy, idle.State);
        Assert.Same(busy, balancer.Pick([busy, idle, down]));
    }

    [Fact]
    public void Validate_BadSpec_NamesEachField()
    {
        var spec = new ServiceSpec
        {
            Name = "Web/1", Owner = "alice", Payload = JobPayload.Container("alpine"), MinReplicas = 0, MaxReplicas = 50, HealthPath = "health",
            HealthInterval = TimeSpan.FromSeconds(1), HealthTimeout = TimeSpan.FromSeconds(5), UnhealthyAfter = 0,
        };
        var fields = spec.Validate(10).Select(e => e.Field).ToList();
        Assert.Equal(["name", "payload", "minReplicas", "maxReplicas", "targetRequestsPerSecond", "healthPath", "healthTimeout", "unhealthyAfter"], fields);
        Assert.Empty(Spec().Validate(10));
    }

    [Fact]
    public async Task Create_InvalidOptions_ThrowsNamingEachSetting()
    {
        await using var engine = CompGridEngine.Create(b =>
        {
            b.Services.AddSingleton<IJobStore>(new InMemoryJobStore());
            b.AddLocalBackend("local", o => o.StateDirectory = Path.Combine(Path.GetTempPath(), "cg-services-unused"));
        });
        var ex = Assert.Throws<ArgumentException>(() => ServiceManager.Create(engine, new ServiceManagerOptions { RateWindow = TimeSpan.Zero, PathPrefix = "services" }));
        Assert.Contains("RateWindow", ex.Message, StringComparison.Ordinal);
        Assert.Contains("PathPrefix", ex.Message, StringComparison.Ordinal);
    }
}

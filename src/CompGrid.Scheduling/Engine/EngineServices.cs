using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CompGrid;

/// <summary>What the engine is built from, resolved from the container in one place.</summary>
internal sealed record EngineServices(
    IJobStore Store,
    IReadOnlyList<IComputeBackend> Backends,
    IReadOnlyList<IAdmissionCheck> AdmissionChecks,
    IReadOnlyList<IUsageSink> UsageSinks,
    IReadOnlyList<IJobNotifier> Notifiers,
    NotificationOutboxWriter NotificationOutbox,
    NotificationOutboxWorker NotificationWorker,
    SchedulingPolicyRegistry Policies,
    CompGridOptions Options,
    SchedulingPolicyOptions Scheduling,
    ISchedulerLease? Lease,
    Ordering.FairShareLedger? FairShare,
    CompGrid.Scheduling.Availability.AvailabilitySchedule? Availability,
    TimeProvider Time,
    ILogger Logger)
{
    /// <summary>Resolves the engine's services (backends, checks, sinks and notifiers in registration order).</summary>
    public static EngineServices From(IServiceProvider sp) => new(
        sp.GetRequiredService<IJobStore>(),
        [.. sp.GetServices<IComputeBackend>()],
        [.. sp.GetServices<IAdmissionCheck>()],
        [.. sp.GetServices<IUsageSink>()],
        [.. sp.GetServices<IJobNotifier>()],
        sp.GetRequiredService<NotificationOutboxWriter>(),
        sp.GetRequiredService<NotificationOutboxWorker>(),
        sp.GetRequiredService<SchedulingPolicyRegistry>(),
        sp.GetRequiredService<IOptions<CompGridOptions>>().Value,
        sp.GetService<IOptions<SchedulingPolicyOptions>>()?.Value ?? new SchedulingPolicyOptions(),
        sp.GetService<ISchedulerLease>(),
        sp.GetService<Ordering.FairShareLedger>(),
        sp.GetService<CompGrid.Scheduling.Availability.AvailabilitySchedule>(),
        sp.GetRequiredService<TimeProvider>(),
        sp.GetRequiredService<ILogger<CompGridEngine>>());
}

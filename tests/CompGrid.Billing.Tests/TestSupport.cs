using CompGrid.Billing;
using CompGrid.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CompGrid.Billing.Tests;

/// <summary>Shared builders for billing tests.</summary>
internal static class B
{
    public static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero); // a Monday, 09:00 UTC

    /// <summary>Gold's example card: 1 credit per CPU-second (3600 per core-hour), whole credits.</summary>
    public static GrantBillingOptions GoldOptions(params Grant[] grants)
    {
        var o = new GrantBillingOptions { RateCards = { new RateCard { Currency = "CRD", Rules = [new RateRule { Name = "cpu-seconds", CpuCoreHour = 3600m }] } } };
        foreach (var g in grants) o.Grants.Add(g);
        return o;
    }

    public static Grant Grant(string code, decimal budget, string pi = "alice", params string[] members) =>
        new() { Code = code, Title = "Grant " + code, PrincipalInvestigator = pi, Members = members, Currency = "CRD", Budget = budget };

    public static GrantBillingService Service(IBillingStore store, GrantBillingOptions options, TimeProvider? time = null) =>
        GrantBilling.Create(store, options, time ?? new ManualTimeProvider(T0));

    public static AdmissionContext Admission(string jobId, string owner, string? account, int cpus = 16, TimeSpan? walltime = null, string? qos = null, string? partition = null) => new()
    {
        JobId = jobId,
        Spec = new JobSpec
        {
            Name = jobId, Owner = owner, Account = account, Payload = JobPayload.Command("true"), Qos = qos,
            Resources = new ResourceRequest { Cpus = cpus, MemoryMiB = 1024 },
            Walltime = walltime ?? TimeSpan.FromSeconds(3600),
            Constraints = new JobConstraints { Partition = partition },
        },
        Walltime = walltime ?? TimeSpan.FromSeconds(3600),
        MemoryMiBPerNode = 1024,
        Now = T0,
    };

    public static UsageRecord Usage(string jobId, string user, string? account, int cpus = 16, double seconds = 1234, DateTimeOffset? start = null)
    {
        var s = start ?? T0;
        return new UsageRecord
        {
            JobId = jobId, User = user, Account = account, Backend = "local", AllocatedCpus = cpus, AllocatedMemoryMiB = 1024, NodeCount = 1,
            StartedAt = seconds > 0 ? s : null, EndedAt = s + TimeSpan.FromSeconds(seconds), Elapsed = TimeSpan.FromSeconds(seconds),
            FinalState = seconds > 0 ? JobState.Completed : JobState.Cancelled,
        };
    }
}

/// <summary>A minimal <see cref="ICompGridBuilder"/> for registration tests.</summary>
internal sealed class TestCompGridBuilder(IServiceCollection services) : ICompGridBuilder
{
    public IServiceCollection Services { get; } = services;
}

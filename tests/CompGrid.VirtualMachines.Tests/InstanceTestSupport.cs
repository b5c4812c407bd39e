using System.Collections.Concurrent;
using CompGrid.Billing;
using Microsoft.Extensions.Logging.Abstractions;

namespace CompGrid.VirtualMachines.Tests;

/// <summary>Hand-written fake machines: records what the service asked for; CPU time is set by the test.</summary>
internal sealed class FakeMachines : IInstanceMachines
{
    public ConcurrentDictionary<string, string> Running { get; } = new();   // id → "running" | "paused"
    public ConcurrentDictionary<string, TimeSpan> Cpu { get; } = new();
    public List<string> Calls { get; } = [];
    public bool FailStart { get; set; }

    public Task StartAsync(string id, VmTemplate template, CancellationToken cancellationToken)
    {
        Calls.Add("start " + id);
        if (FailStart) throw new CompGridException("boot failed") { Code = CompGridErrorCodes.NodeStartFailed };
        Running[id] = "running";
        Cpu[id] = TimeSpan.Zero;
        return Task.CompletedTask;
    }

    public Task StopAsync(string id, CancellationToken cancellationToken) { Calls.Add("stop " + id); Running.TryRemove(id, out _); return Task.CompletedTask; }

    public Task PauseAsync(string id, CancellationToken cancellationToken) { Calls.Add("pause " + id); Running[id] = "paused"; return Task.CompletedTask; }

    public Task ResumeAsync(string id, CancellationToken cancellationToken) { Calls.Add("resume " + id); Running[id] = "running"; return Task.CompletedTask; }

    public bool IsRunning(string id) => Running.ContainsKey(id);

    public TimeSpan? CpuTime(string id) => Running.ContainsKey(id) && Cpu.TryGetValue(id, out var c) ? c : null;

    public Task<string?> GetAddressAsync(string id, CancellationToken cancellationToken) => Task.FromResult<string?>(null);

    public ValueTask DisposeAsync() { Running.Clear(); return ValueTask.CompletedTask; }
}

/// <summary>A store whose next save fails once (a crash after a period's usage was delivered, before it was saved).</summary>
internal sealed class FailingOnceStore(IInstanceStore inner) : IInstanceStore
{
    public bool FailNextSave { get; set; }

    public Task<VirtualMachineInstance?> GetAsync(string id, CancellationToken cancellationToken = default) => inner.GetAsync(id, cancellationToken);

    public Task<IReadOnlyList<VirtualMachineInstance>> ListAsync(CancellationToken cancellationToken = default) => inner.ListAsync(cancellationToken);

    public Task SaveAsync(VirtualMachineInstance instance, CancellationToken cancellationToken = default)
    {
        if (FailNextSave) { FailNextSave = false; throw new IOException("disk full"); }
        return inner.SaveAsync(instance, cancellationToken);
    }
}

/// <summary>Grant billing in memory with a per-size rate card for the "instances" service, and instance services over it.</summary>
internal sealed class InstanceWorld
{
    public static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    public ManualTimeProvider Clock { get; } = new(T0);
    public GrantBillingService Billing { get; }
    public IInstanceStore Store { get; set; } = new InMemoryInstanceStore();
    public FakeMachines Machines { get; private set; } = new();

    public InstanceWorld(decimal budget = 1000m)
    {
        var options = new GrantBillingOptions
        {
            RateCards =
            {
                new RateCard
                {
                    Currency = "CRD",
                    Rules =
                    [
                        new RateRule { Name = "jobs", CpuCoreHour = 1m },
                        new RateRule { Name = "vm-small", Backend = "instances", Partition = "small", CpuCoreHour = 2m },
                        new RateRule { Name = "vm-large", Backend = "instances", Partition = "large", CpuCoreHour = 3m },
                    ],
                },
            },
            Grants = { new Grant { Code = "chem-01", Title = "Chemistry", PrincipalInvestigator = "alice", Members = ["alice", "bob"], Currency = "CRD", Budget = budget } },
        };
        Billing = GrantBilling.Create(new InMemoryBillingStore(), options, Clock);
    }

    public static VirtualMachineInstancesOptions Options(Action<VirtualMachineInstancesOptions>? configure = null)
    {
        var o = new VirtualMachineInstancesOptions
        {
            Qemu = new QemuBackendOptions
            {
                StateDirectory = "/tmp/unused",
                Templates =
                {
                    new VmTemplate { Name = "small", Kernel = "/bin/sh", Cpus = 1, MemoryMiB = 512 },
                    new VmTemplate { Name = "large", Kernel = "/bin/sh", Cpus = 4, MemoryMiB = 4096 },
                },
            },
            MachineOwners = { "labowner" },
        };
        configure?.Invoke(o);
        return o;
    }

    public VirtualMachineInstances Service(Action<VirtualMachineInstancesOptions>? configure = null, bool newMachines = false)
    {
        if (newMachines) Machines = new FakeMachines();
        return new VirtualMachineInstances("instances", Options(configure), Machines, Store,
            new InstanceBilling { Funding = Billing.AdmissionCheck, UsageSinks = { Billing.UsageSink } }, Clock, NullLogger.Instance);
    }

    public Task<Statement> StatementAsync() => Billing.GetStatementAsync("chem-01", T0.AddDays(-1), T0.AddDays(30));
}

using System.Security.Cryptography;
using CompGrid.VirtualMachines.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CompGrid.VirtualMachines;

/// <summary>
/// VM instances leased by users: create one from a template (its size), start, stop, suspend, resume, read its
/// address, delete. Each instance has an owner (the caller who created it) and a grant; its running time is metered in
/// periods (<see cref="VirtualMachineInstancesOptions.MeteringPeriod"/>) on the injected clock, held for before each
/// period and charged once after it through <see cref="InstanceBilling"/>. Owners see their own instances; administrators and
/// <see cref="VirtualMachineInstancesOptions.MachineOwners"/> see and stop every one. Operations are serialized.
/// </summary>
/// <example>
/// <code>
/// await using var instances = VirtualMachineInstances.Create("instances", options,
///     new InstanceBilling { Funding = billing.AdmissionCheck, UsageSinks = { billing.UsageSink } });
/// var vm = await instances.CreateAsync(new InstanceCaller("alice"), new CreateInstanceRequest { Template = "small", Account = "chem-01" });
/// await instances.StartAsync(new InstanceCaller("alice"), vm.Id);
/// </code>
/// </example>
public sealed class VirtualMachineInstances : IAsyncDisposable
{
    /// <summary>The DI key of the <see cref="IAdmissionCheck"/> that funds instance periods (register grant billing's admission check under it).</summary>
    public const string FundingServiceKey = "compgrid-vm-instances-funding";

    private readonly VirtualMachineInstancesOptions _options;
    private readonly IInstanceMachines _machines;
    private readonly IInstanceStore _store;
    private readonly InstanceBilling _billing;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, (DateTimeOffset At, TimeSpan Cpu)> _cpuSamples = new(StringComparer.Ordinal);
    private bool _recovered;

    internal VirtualMachineInstances(string name, VirtualMachineInstancesOptions options, IInstanceMachines machines, IInstanceStore store,
        InstanceBilling billing, TimeProvider time, ILogger logger)
    {
        Name = name;
        _options = options;
        _machines = machines;
        _store = store;
        _billing = billing;
        _time = time;
        _logger = logger;
    }

    /// <summary>
    /// Creates the service with VMs on QEMU. <paramref name="timeProvider"/> meters time and judges idleness; QEMU's own
    /// waits (boot, power-down) run on the system clock, because the emulator runs in real time.
    /// </summary>
    /// <param name="name">The service name: the backend name on usage records (rate card rules select it).</param>
    /// <param name="options">The options; validated here by the same validator DI uses.</param>
    /// <param name="billing">Holds and usage sinks.</param>
    /// <param name="store">The record store, or null for a <see cref="FileInstanceStore"/> in <see cref="VirtualMachineInstancesOptions.StoreDirectory"/>.</param>
    /// <param name="loggerFactory">Logging, or null for none.</param>
    /// <param name="timeProvider">The metering clock, or null for <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentException">The options are invalid; the message names each option and rule.</exception>
    public static VirtualMachineInstances Create(string name, VirtualMachineInstancesOptions options, InstanceBilling billing, IInstanceStore? store = null,
        ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(billing);
        var errors = VirtualMachineInstancesOptionsValidator.Errors(name, options);
        if (errors.Count > 0) throw new ArgumentException(string.Join(" ", errors), nameof(options));
        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("CompGrid.VirtualMachines.Instances");
        store ??= new FileInstanceStore(options.StoreDirectory ?? Path.Combine(options.Qemu.StateDirectory, "instances"));
        return new VirtualMachineInstances(name, options, new QemuInstanceMachines(name, options.Qemu, TimeProvider.System, logger), store, billing,
            timeProvider ?? TimeProvider.System, logger);
    }

    /// <summary>The service name (the backend on usage records).</summary>
    public string Name { get; }

    /// <summary>The templates (sizes) users may create instances from.</summary>
    public IReadOnlyList<VmTemplate> Templates => [.. _options.Qemu.Templates];

    /// <summary>Whether <paramref name="caller"/> owns the machines: an administrator or one of <see cref="VirtualMachineInstancesOptions.MachineOwners"/>.</summary>
    public bool IsMachineOwner(InstanceCaller caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return caller.IsAdministrator || _options.MachineOwners.Contains(caller.User, StringComparer.Ordinal);
    }

    // ---------------------------------------------------------------- create, list, read

    /// <summary>Creates a stopped instance owned by the caller. Bad input throws <see cref="JobValidationException"/> naming the field; nothing is stored.</summary>
    public async Task<VirtualMachineInstance> CreateAsync(InstanceCaller caller, CreateInstanceRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(request);
        var errors = new List<ValidationError>();
        if (string.IsNullOrWhiteSpace(caller.User)) errors.Add(new("owner", "is required."));
        var template = _options.Qemu.Templates.FirstOrDefault(t => string.Equals(t.Name, request.Template, StringComparison.Ordinal));
        if (template is null)
            errors.Add(new("template", $"must be one of: {string.Join(", ", _options.Qemu.Templates.Select(t => t.Name))}."));
        if (string.IsNullOrWhiteSpace(request.Account)) errors.Add(new("account", "is required (the grant charged for the instance's hours)."));
        else if (request.Account.Length > 64 || request.Account.Any(char.IsControl)) errors.Add(new("account", "must be at most 64 characters without control characters."));
        if (request.Name is { } n && (n.Length > 64 || n.Any(char.IsControl))) errors.Add(new("name", "must be at most 64 characters without control characters."));
        if (errors.Count > 0) throw new JobValidationException(errors);

        return await LockedAsync(async () =>
        {
            var live = (await _store.ListAsync(cancellationToken).ConfigureAwait(false)).Where(i => i.State != InstanceState.Deleted).ToList();
            if (live.Count >= _options.MaxInstances)
                throw new CompGridException($"VM instances '{Name}': the limit of {_options.MaxInstances} instances is reached.") { Code = CompGridErrorCodes.Limit, Operation = "create" };
            if (live.Count(i => i.Owner == caller.User) >= _options.MaxInstancesPerUser)
                throw new CompGridException($"User '{caller.User}' has {_options.MaxInstancesPerUser} instances already (MaxInstancesPerUser).") { Code = CompGridErrorCodes.Limit, Operation = "create" };
            var now = _time.GetUtcNow();
            var instance = new VirtualMachineInstance
            {
                Id = "i-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)),
                Name = request.Name, Owner = caller.User, Account = request.Account, Template = template!.Name,
                Cpus = template.Cpus, MemoryMiB = template.MemoryMiB, State = InstanceState.Stopped, CreatedAt = now, StateChangedAt = now, LastObservedAt = now,
            };
            await _store.SaveAsync(instance, cancellationToken).ConfigureAwait(false);
            Log.InstanceTransition(_logger, instance.Id, instance.Owner, instance.Template, instance.Account, "created");
            return instance;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The instance, when the caller owns it or owns the machines; otherwise null (as if it did not exist).</summary>
    public async Task<VirtualMachineInstance?> GetAsync(InstanceCaller caller, string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(caller);
        await LockedAsync(() => Task.FromResult(0), cancellationToken).ConfigureAwait(false);   // recovery first
        var i = id is null ? null : await _store.GetAsync(id, cancellationToken).ConfigureAwait(false);
        return i is not null && i.State != InstanceState.Deleted && Visible(caller, i) ? i : null;
    }

    /// <summary>The caller's instances; every instance when <paramref name="all"/> and the caller owns the machines.</summary>
    public async Task<IReadOnlyList<VirtualMachineInstance>> ListAsync(InstanceCaller caller, bool all = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(caller);
        await LockedAsync(() => Task.FromResult(0), cancellationToken).ConfigureAwait(false);
        bool everyone = all && IsMachineOwner(caller);
        return [.. (await _store.ListAsync(cancellationToken).ConfigureAwait(false)).Where(i => i.State != InstanceState.Deleted && (everyone || i.Owner == caller.User))];
    }

    /// <summary>The instance's IP address from the guest agent (<c>guest-network-get-interfaces</c>), or null when it has none or is not running.</summary>
    public async Task<string?> GetAddressAsync(InstanceCaller caller, string id, CancellationToken cancellationToken = default)
    {
        var i = await RequireAsync(caller, id, cancellationToken).ConfigureAwait(false);
        return i.State == InstanceState.Running && _machines.IsRunning(i.Id) ? await _machines.GetAddressAsync(i.Id, cancellationToken).ConfigureAwait(false) : null;
    }

    // ---------------------------------------------------------------- transitions

    /// <summary>Starts a stopped instance: places the hold of its first period (refused → <see cref="JobRejectedException"/>), boots the VM, starts the meter.</summary>
    public Task<VirtualMachineInstance> StartAsync(InstanceCaller caller, string id, CancellationToken cancellationToken = default) =>
        TransitionAsync(caller, id, "start", [InstanceState.Stopped], async i =>
        {
            var template = _options.Qemu.Templates.FirstOrDefault(t => t.Name == i.Template)
                ?? throw new CompGridException($"Instance '{i.Id}': its template '{i.Template}' is no longer configured.") { Code = CompGridErrorCodes.Invalid, Operation = "start" };
            var now = _time.GetUtcNow();
            await HoldAsync(i, i.Period, now, cancellationToken).ConfigureAwait(false);
            try
            {
                await _machines.StartAsync(i.Id, template, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                // The period never ran: deliver it empty so its hold is released.
                await DeliverAsync(i, new ClosedPeriod(i.Period, now, now, TimeSpan.Zero), cancellationToken).ConfigureAwait(false);
                await _store.SaveAsync(i with { Period = i.Period + 1, LastObservedAt = now }, cancellationToken).ConfigureAwait(false);
                throw;
            }
            now = _time.GetUtcNow();
            return InstanceMeter.Run(i, now) with { State = InstanceState.Running, StateChangedAt = now, Reason = null, LastActiveAt = now, LastObservedAt = now };
        }, cancellationToken);

    /// <summary>Stops a running or suspended instance: closes and charges its open period, then powers the VM off.</summary>
    public Task<VirtualMachineInstance> StopAsync(InstanceCaller caller, string id, CancellationToken cancellationToken = default) =>
        TransitionAsync(caller, id, "stop", [InstanceState.Running, InstanceState.Suspended], async i =>
        {
            var stopped = await StopMeterAsync(i, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            await _machines.StopAsync(i.Id, cancellationToken).ConfigureAwait(false);
            _cpuSamples.Remove(i.Id);
            return stopped with { State = InstanceState.Stopped, Reason = caller.User == i.Owner ? null : $"stopped by {caller.User}" };
        }, cancellationToken, machineOwnerMayAct: true);

    /// <summary>Suspends a running instance (QMP <c>stop</c>): the meter stops, the VM keeps its memory.</summary>
    public Task<VirtualMachineInstance> SuspendAsync(InstanceCaller caller, string id, CancellationToken cancellationToken = default) =>
        TransitionAsync(caller, id, "suspend", [InstanceState.Running], i => SuspendCoreAsync(i, null, cancellationToken), cancellationToken, machineOwnerMayAct: true);

    /// <summary>Resumes a suspended instance (QMP <c>cont</c>); a new period (and hold) opens when the last one has ended.</summary>
    public Task<VirtualMachineInstance> ResumeAsync(InstanceCaller caller, string id, CancellationToken cancellationToken = default) =>
        TransitionAsync(caller, id, "resume", [InstanceState.Suspended], async i =>
        {
            var now = _time.GetUtcNow();
            if (InstanceMeter.NeedsPeriod(i)) await HoldAsync(i, i.Period, now, cancellationToken).ConfigureAwait(false);
            await _machines.ResumeAsync(i.Id, cancellationToken).ConfigureAwait(false);
            return InstanceMeter.Run(i, now) with { State = InstanceState.Running, StateChangedAt = now, Reason = null, LastActiveAt = now, LastObservedAt = now };
        }, cancellationToken);

    /// <summary>Deletes an instance (stopping it first when it runs); its record is kept, marked deleted.</summary>
    public Task<VirtualMachineInstance> DeleteAsync(InstanceCaller caller, string id, CancellationToken cancellationToken = default) =>
        TransitionAsync(caller, id, "delete", [InstanceState.Stopped, InstanceState.Running, InstanceState.Suspended], async i =>
        {
            var now = _time.GetUtcNow();
            var stopped = i.State == InstanceState.Stopped ? i : await StopMeterAsync(i, now, cancellationToken).ConfigureAwait(false);
            await _machines.StopAsync(i.Id, cancellationToken).ConfigureAwait(false);
            _cpuSamples.Remove(i.Id);
            return stopped with { State = InstanceState.Deleted, StateChangedAt = now, LastObservedAt = now };
        }, cancellationToken);

    private async Task<VirtualMachineInstance> TransitionAsync(InstanceCaller caller, string id, string operation, InstanceState[] from,
        Func<VirtualMachineInstance, Task<VirtualMachineInstance>> apply, CancellationToken cancellationToken, bool machineOwnerMayAct = false)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return await LockedAsync(async () =>
        {
            var i = await _store.GetAsync(id, cancellationToken).ConfigureAwait(false);
            if (i is null || i.State == InstanceState.Deleted || !Visible(caller, i)) throw NotFound(id);
            if (i.Owner != caller.User && !machineOwnerMayAct)
                throw new CompGridForbiddenException($"Only the owner of instance '{id}' may {operation} it; the machines' owners may stop or suspend it.") { Code = CompGridErrorCodes.Forbidden, Operation = operation };
            // Close what has ended before changing state, so each period is charged by the rule, not by the transition.
            var current = await CloseEndedAsync(i, _time.GetUtcNow(), null, cancellationToken).ConfigureAwait(false);
            if (current != i) await _store.SaveAsync(current, cancellationToken).ConfigureAwait(false);
            i = current;
            if (!from.Contains(i.State))
                throw new CompGridException($"Instance '{id}' is {i.State.ToString().ToLowerInvariant()}; cannot {operation} it (allowed from {string.Join(" or ", from.Select(s => s.ToString().ToLowerInvariant()))}).")
                { Code = CompGridErrorCodes.InstanceState, Operation = operation };
            var next = await apply(i).ConfigureAwait(false);
            await _store.SaveAsync(next, cancellationToken).ConfigureAwait(false);
            Log.InstanceTransition(_logger, next.Id, next.Owner, next.Template, next.Account, operation + " by " + caller.User);
            return next;
        }, cancellationToken).ConfigureAwait(false);
    }

    private async Task<VirtualMachineInstance> SuspendCoreAsync(VirtualMachineInstance i, string? reason, CancellationToken cancellationToken)
    {
        await _machines.PauseAsync(i.Id, cancellationToken).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        if (reason is not null) Log.InstanceSuspended(_logger, i.Id, reason);
        return InstanceMeter.Pause(i, now) with { State = InstanceState.Suspended, StateChangedAt = now, Reason = reason, LastObservedAt = now };
    }

    private async Task<VirtualMachineInstance> StopMeterAsync(VirtualMachineInstance i, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var paused = InstanceMeter.Pause(i, now);
        if (InstanceMeter.CloseNow(paused, now) is not var (next, closed)) return paused with { StateChangedAt = now, LastObservedAt = now };
        await DeliverAsync(i, closed, cancellationToken).ConfigureAwait(false);
        return next with { StateChangedAt = now, LastObservedAt = now };
    }

    // ---------------------------------------------------------------- metering

    /// <summary>
    /// One metering round: closes and charges every period that has ended, places the hold of the next period of each
    /// running instance (an instance whose grant refuses it is suspended), and reports — or, with
    /// <see cref="VirtualMachineInstancesOptions.SuspendIdle"/>, suspends — instances idle longer than
    /// <see cref="VirtualMachineInstancesOptions.IdleTime"/>. The hosted service calls it every
    /// <see cref="VirtualMachineInstancesOptions.MeteringInterval"/>; scripts and tests call it directly.
    /// </summary>
    public Task<InstanceMeteringResult> MeterAsync(CancellationToken cancellationToken = default) =>
        LockedAsync(async () =>
        {
            var charged = new List<string>();
            var idle = new List<string>();
            var suspended = new List<string>();
            var now = _time.GetUtcNow();
            foreach (var original in await _store.ListAsync(cancellationToken).ConfigureAwait(false))
            {
                if (original.State is not (InstanceState.Running or InstanceState.Suspended)) continue;
                var i = await CloseEndedAsync(original, now, charged, cancellationToken).ConfigureAwait(false);
                if (i.State == InstanceState.Suspended && i != original && i.Reason is not null && original.State == InstanceState.Running) suspended.Add(i.Id);
                if (i.State == InstanceState.Running) i = ObserveActivity(i, now);
                if (i.State == InstanceState.Running && _options.IdleTime is { } limit && i.LastActiveAt is { } active && now - active >= limit)
                {
                    idle.Add(i.Id);
                    Log.InstanceIdle(_logger, i.Id, i.Owner, active);
                    if (_options.SuspendIdle)
                    {
                        i = await SuspendCoreAsync(i, $"idle since {active:O} (IdleTime {limit})", cancellationToken).ConfigureAwait(false);
                        suspended.Add(i.Id);
                    }
                }
                i = i with { LastObservedAt = now };
                await _store.SaveAsync(i, cancellationToken).ConfigureAwait(false);
            }
            return new InstanceMeteringResult { Charged = charged, Idle = idle, Suspended = suspended };
        }, cancellationToken);

    // Closes every ended period of i (delivering its usage) and, for a running instance, holds the next one.
    private async Task<VirtualMachineInstance> CloseEndedAsync(VirtualMachineInstance i, DateTimeOffset now, List<string>? charged, CancellationToken cancellationToken)
    {
        while (InstanceMeter.CloseIfEnded(i, now, _options.MeteringPeriod) is var (next, closed))
        {
            await DeliverAsync(i, closed, cancellationToken).ConfigureAwait(false);
            charged?.Add(VirtualMachineInstance.ChargeKey(i.Id, closed.Number));
            i = next;
            if (i.State == InstanceState.Running && i.PeriodStart is { } start)
            {
                try
                {
                    await HoldAsync(i, i.Period, start, cancellationToken).ConfigureAwait(false);
                }
                catch (JobRejectedException ex)
                {
                    // The grant cannot fund another period: stop the meter at the period's start and pause the VM.
                    i = InstanceMeter.Pause(i, start) with { PeriodStart = null, PeriodRunning = TimeSpan.Zero };
                    await _machines.PauseAsync(i.Id, cancellationToken).ConfigureAwait(false);
                    i = i with { State = InstanceState.Suspended, StateChangedAt = now, Reason = ex.Message };
                    Log.InstanceSuspended(_logger, i.Id, ex.Message);
                    return i;
                }
            }
        }
        return i;
    }

    // Busy when the QEMU process used at least IdleCpuFraction of one vCPU since the last sample (the host's measurement).
    private VirtualMachineInstance ObserveActivity(VirtualMachineInstance i, DateTimeOffset now)
    {
        if (_machines.CpuTime(i.Id) is not { } cpu) return i;
        bool busy = false;
        if (_cpuSamples.TryGetValue(i.Id, out var last) && now > last.At)
            busy = (cpu - last.Cpu).TotalSeconds >= _options.IdleCpuFraction * (now - last.At).TotalSeconds;
        _cpuSamples[i.Id] = (now, cpu);
        return busy ? i with { LastActiveAt = now } : i;
    }

    private async Task HoldAsync(VirtualMachineInstance i, int period, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (_billing.Funding is not { } funding) return;
        var context = new AdmissionContext
        {
            JobId = VirtualMachineInstance.ChargeKey(i.Id, period),
            Spec = new JobSpec
            {
                Name = "instance " + i.Id, Owner = i.Owner, Account = i.Account, Walltime = _options.MeteringPeriod,
                Resources = new ResourceRequest { Cpus = i.Cpus, MemoryMiB = i.MemoryMiB, Nodes = 1 },
                Constraints = new JobConstraints { Backend = Name, Partition = i.Template },
            },
            Walltime = _options.MeteringPeriod, MemoryMiBPerNode = i.MemoryMiB, Backend = Name, Now = now,
        };
        var result = await funding.CheckAsync(context, cancellationToken).ConfigureAwait(false);
        if (result.Decision != AdmissionDecision.Admit)
            throw new JobRejectedException($"Instance '{i.Id}': grant '{i.Account}' does not fund another period: {result.Reason}", result.Code ?? CompGridErrorCodes.InsufficientFunds) { Operation = "hold" };
    }

    private async Task DeliverAsync(VirtualMachineInstance i, ClosedPeriod period, CancellationToken cancellationToken)
    {
        var usage = new UsageRecord
        {
            JobId = VirtualMachineInstance.ChargeKey(i.Id, period.Number), Account = i.Account, User = i.Owner, Backend = Name, BackendJobId = i.Id,
            Partition = i.Template, Nodes = [i.Id], StartedAt = period.Running > TimeSpan.Zero ? period.Start : null, EndedAt = period.End,
            Elapsed = period.Running, AllocatedCpus = i.Cpus, AllocatedMemoryMiB = i.MemoryMiB, NodeCount = 1, FinalState = JobState.Completed,
        };
        foreach (var sink in _billing.UsageSinks) await sink.RecordAsync(usage, cancellationToken).ConfigureAwait(false);
        Log.PeriodCharged(_logger, i.Id, usage.JobId, period.Running);
    }

    // ---------------------------------------------------------------- helpers

    private async Task<T> LockedAsync<T>(Func<Task<T>> action, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_recovered) { await RecoverAsync(cancellationToken).ConfigureAwait(false); _recovered = true; }
            return await action().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    // After a restart the VMs of this process are gone: an instance recorded as running or suspended is stopped, its
    // open period closed at the last instant the engine observed it (never at the restart: that time was not observed).
    private async Task RecoverAsync(CancellationToken cancellationToken)
    {
        foreach (var i in await _store.ListAsync(cancellationToken).ConfigureAwait(false))
        {
            if (i.State is not (InstanceState.Running or InstanceState.Suspended) || _machines.IsRunning(i.Id)) continue;
            var at = i.LastObservedAt ?? i.StateChangedAt;
            var closed = await CloseEndedAsync(i, at, null, cancellationToken).ConfigureAwait(false);
            var stopped = await StopMeterAsync(closed, at, cancellationToken).ConfigureAwait(false);
            Log.InstanceRecovered(_logger, i.Id, i.State, at);
            await _store.SaveAsync(stopped with { State = InstanceState.Stopped, Reason = "the VM was not running when the service started; stopped" }, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<VirtualMachineInstance> RequireAsync(InstanceCaller caller, string id, CancellationToken cancellationToken) =>
        await GetAsync(caller, id, cancellationToken).ConfigureAwait(false) ?? throw NotFound(id);

    private bool Visible(InstanceCaller caller, VirtualMachineInstance i) => i.Owner == caller.User || IsMachineOwner(caller);

    private CompGridException NotFound(string id) =>
        new($"Instance '{id}' was not found.") { Code = CompGridErrorCodes.NotFound, Backend = Name };

    /// <summary>Powers off every VM this service started (their records stay as they are; the next start recovers them).</summary>
    public async ValueTask DisposeAsync()
    {
        await _machines.DisposeAsync().ConfigureAwait(false);
        _gate.Dispose();
    }
}

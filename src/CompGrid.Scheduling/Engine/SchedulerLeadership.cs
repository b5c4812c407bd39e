using Microsoft.Extensions.Logging;

namespace CompGrid;

/// <summary>
/// Whether this engine instance schedules: always without an <see cref="ISchedulerLease"/>; with one, while it holds
/// the lease (the other instances stand by). A lease that cannot be checked counts as not held.
/// </summary>
internal sealed class SchedulerLeadership(ISchedulerLease? lease, ILogger logger)
{
    private bool _leading;

    /// <summary>Whether several instances share the store (a lease is configured).</summary>
    public bool IsShared => lease is not null;

    /// <summary>Whether this instance schedules now.</summary>
    public bool IsActive => lease is null || Volatile.Read(ref _leading);

    /// <summary>Whether this instance held the lease at the last check.</summary>
    public bool WasLeading => Volatile.Read(ref _leading);

    /// <summary>Tries to take or keep the lease; logs a change of role.</summary>
    public async Task<bool> TryLeadAsync(CancellationToken ct)
    {
        if (lease is null) return true;
        bool leading;
        try { leading = await lease.TryAcquireAsync(ct).ConfigureAwait(false); }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.Lease(logger, ex.Message);
            leading = false;
        }
        bool was = Volatile.Read(ref _leading);
        Volatile.Write(ref _leading, leading);
        if (leading != was) Log.Leadership(logger, leading ? "active" : "standby");
        return leading;
    }

    /// <summary>Gives the lease up at stop, so a standby takes over at once.</summary>
    public async Task ResignAsync(CancellationToken ct)
    {
        if (lease is null || !Volatile.Read(ref _leading)) return;
        Volatile.Write(ref _leading, false);
        await lease.ReleaseAsync(ct).ConfigureAwait(false);
    }
}

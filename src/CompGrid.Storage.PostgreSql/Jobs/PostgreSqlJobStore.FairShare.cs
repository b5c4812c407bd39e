using Npgsql;

namespace CompGrid.Storage.PostgreSql;

// Fair-share usage per association (issue 14 §6): charged through the group-committing writer, so a charge shares its
// transaction with the writes queued beside it, and read by every instance on the database at start-up and on refresh.
public sealed partial class PostgreSqlJobStore : IFairShareUsageStore
{
    /// <inheritdoc/>
    async Task<FairShareUsage?> IFairShareUsageStore.TryChargeFairShareAsync(string jobId, FairShareUsage usage, TimeSpan halfLife, CancellationToken cancellationToken)
    {
        FairShareCharges.Validate(jobId, usage, halfLife);
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        var write = JobWrite.ChargeFairShare(jobId, usage, halfLife);
        return await _writer.WriteAsync(write, cancellationToken).ConfigureAwait(false) ? write.Charged : null;
    }

    /// <inheritdoc/>
    async Task<IReadOnlyList<FairShareUsage>> IFairShareUsageStore.GetFairShareUsageAsync(CancellationToken cancellationToken)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        using var c = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var cmd = new NpgsqlCommand($"SELECT account, owner, usage, at, charges FROM {_s}.fairshare_usage ORDER BY account, owner", c);
        var list = new List<FairShareUsage>();
        using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            list.Add(new FairShareUsage { Account = r.GetString(0), User = r.GetString(1), Usage = r.GetDouble(2), At = new DateTimeOffset(r.GetInt64(3), TimeSpan.Zero), Charges = r.GetInt64(4) });
        return list;
    }
}

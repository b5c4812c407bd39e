using Microsoft.Data.Sqlite;

namespace CompGrid.Storage.Sqlite;

// Fair-share usage per association (issue 14 §6): charged through the group-committing writer, so a charge shares its
// transaction with the writes queued beside it, and read by every instance on the file at start-up and on refresh.
public sealed partial class SqliteJobStore : IFairShareUsageStore
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
        using SqliteConnection c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using SqliteCommand cmd = c.CreateCommand();
        cmd.CommandText = "SELECT account, owner, usage, at, charges FROM fairshare_usage ORDER BY account, owner";
        var list = new List<FairShareUsage>();
        using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            list.Add(new FairShareUsage { Account = r.GetString(0), User = r.GetString(1), Usage = r.GetDouble(2), At = new DateTimeOffset(r.GetInt64(3), TimeSpan.Zero), Charges = r.GetInt64(4) });
        return list;
    }
}

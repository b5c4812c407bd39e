namespace CompGrid.Billing;

/// <summary>
/// What a guarded write sees, read inside its transaction: the grant, its balance, and every entry of the job the
/// write concerns (in ledger order, on any grant).
/// </summary>
/// <param name="Grant">The grant written to.</param>
/// <param name="Balance">Its balances from all of its entries.</param>
/// <param name="JobEntries">The entries of <see cref="LedgerWrite.JobId"/> (empty when the write names no job).</param>
public sealed record LedgerState(Grant Grant, GrantBalance Balance, IReadOnlyList<LedgerEntry> JobEntries);

/// <summary>
/// An append guarded by a condition (see <see cref="IBillingStore.WriteAsync"/>): <see cref="Decide"/> receives the
/// state read inside the transaction and returns the entries to append — all on <see cref="GrantCode"/> — or none.
/// It must be a pure function of the state: the store calls it exactly once per write, under its lock.
/// </summary>
public sealed class LedgerWrite
{
    /// <summary>A write to <paramref name="grantCode"/> about <paramref name="jobId"/> (or none), decided by <paramref name="decide"/>.</summary>
    public LedgerWrite(string grantCode, string? jobId, Func<LedgerState, IReadOnlyList<LedgerEntry>> decide)
    {
        ArgumentException.ThrowIfNullOrEmpty(grantCode);
        GrantCode = grantCode;
        JobId = jobId;
        Decide = decide ?? throw new ArgumentNullException(nameof(decide));
    }

    /// <summary>The grant whose entries the write appends (and whose writes it excludes while it runs).</summary>
    public string GrantCode { get; }

    /// <summary>The job whose entries <see cref="LedgerState.JobEntries"/> holds, or null.</summary>
    public string? JobId { get; }

    /// <summary>The condition: the entries to append given the state, or an empty list to append nothing.</summary>
    public Func<LedgerState, IReadOnlyList<LedgerEntry>> Decide { get; }

    /// <summary>An unconditional append of <paramref name="entries"/> (all on one grant), still all-or-none and keyed.</summary>
    public static LedgerWrite Append(params IReadOnlyList<LedgerEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0) throw new ArgumentException("At least one entry is required.", nameof(entries));
        return new LedgerWrite(entries[0].GrantCode, null, _ => entries);
    }

    /// <summary>
    /// Checks what <see cref="Decide"/> returned before a store appends it: every entry on <see cref="GrantCode"/>.
    /// Stores call this so that no write escapes the grant it locked.
    /// </summary>
    public IReadOnlyList<LedgerEntry> DecideChecked(LedgerState state)
    {
        var entries = Decide(state) ?? [];
        foreach (var e in entries)
        {
            if (!string.Equals(e.GrantCode, GrantCode, StringComparison.Ordinal))
                throw new ArgumentException($"A write to grant '{GrantCode}' returned an entry for grant '{e.GrantCode}'; one write appends to one grant.");
        }
        return entries;
    }
}

/// <summary>The outcome of <see cref="IBillingStore.WriteAsync"/>.</summary>
public enum LedgerWriteStatus
{
    /// <summary>The entries were appended.</summary>
    Appended,
    /// <summary>The condition returned no entry; nothing changed.</summary>
    Declined,
    /// <summary>The grant does not exist; the condition was not called and nothing changed.</summary>
    GrantNotFound,
    /// <summary>An entry's key exists already; nothing changed (the write was applied before).</summary>
    DuplicateKey,
}

/// <summary>The result of a guarded write.</summary>
/// <param name="Status">What happened.</param>
/// <param name="Entries">The appended entries with their ids (empty unless <see cref="LedgerWriteStatus.Appended"/>).</param>
/// <param name="State">The state the condition saw (null for <see cref="LedgerWriteStatus.GrantNotFound"/>).</param>
public sealed record LedgerWriteResult(LedgerWriteStatus Status, IReadOnlyList<LedgerEntry> Entries, LedgerState? State);

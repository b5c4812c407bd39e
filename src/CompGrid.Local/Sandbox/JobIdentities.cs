using System.Globalization;
using System.Runtime.Versioning;
using CompGrid.Local.Processes;

namespace CompGrid.Local.Sandbox;

/// <summary>
/// Decides which OS account a job runs as: the owner's mapped account (<c>OwnerAccounts</c>), else a uid of its own
/// leased from <c>JobUserIds</c>, else <c>RunAsUser</c>, else <c>nobody</c>. Never root unless <c>AllowRunAsRoot</c>.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class JobIdentities(string backend, LocalBackendOptions options)
{
    private readonly UidRange? _range = options.JobUserIds is { } r ? UidRange.TryParse(r) : null;
    private readonly Dictionary<uint, string> _leases = [];
    private readonly Dictionary<uint, UidLock> _locks = [];
    private uint _cursor;

    /// <summary>Whether jobs run as another account (the host runs as root). Otherwise they run as the host's own user.</summary>
    public bool SwitchesUser { get; } = Environment.IsPrivilegedProcess;

    /// <summary>The account for <paramref name="owner"/>'s job, or null when jobs run as the host's own (unprivileged) user.</summary>
    /// <exception cref="CompGridException">The account does not exist, is root without <c>AllowRunAsRoot</c>, or no uid is free.</exception>
    public RunAsAccount? For(string owner, string jobId)
    {
        if (!SwitchesUser) return null;
        if (!options.OwnerAccounts.ContainsKey(owner) && _range is { } range) return Lease(range, jobId);
        string field = options.OwnerAccounts.ContainsKey(owner) ? $"OwnerAccounts[{owner}]" : "RunAsUser";
        string name = options.OwnerAccounts.TryGetValue(owner, out var mapped) ? mapped : options.RunAsUser ?? Accounts.DefaultRunAsUser;
        var account = Accounts.Find(name)
            ?? throw new CompGridException($"{field}: the account '{name}' does not exist on this machine; the job was not started.") { Backend = backend, Operation = "submit", JobId = jobId };
        if (account.Uid == 0 && !options.AllowRunAsRoot)
            throw new CompGridException($"{field}: '{name}' is root; jobs never run as root unless AllowRunAsRoot is set. The job was not started.") { Backend = backend, Operation = "submit", JobId = jobId };
        return account;
    }

    /// <summary>Marks a uid as taken by a job found running after a restart.</summary>
    public void Reserve(uint uid, string jobId)
    {
        lock (_leases)
        {
            _leases[uid] = jobId;
            // Best effort: another backend may have leased the id while this one was down; its own job keeps running.
            if (!_locks.ContainsKey(uid) && UidLock.TryAcquire(uid) is { } held) _locks[uid] = held;
        }
    }

    /// <summary>Gives the job's uid back once nothing of the job runs any more.</summary>
    public void Release(uint uid, string jobId)
    {
        lock (_leases)
        {
            if (!_leases.TryGetValue(uid, out var holder) || holder != jobId) return;
            _leases.Remove(uid);
            if (_locks.Remove(uid, out var held)) held.Dispose();
        }
    }

    // Round-robin through the range, so an id is reused as late as possible; skip real accounts and ids that still run anything.
    // The machine-wide lock makes the lease hold across backends: two backends (in one process or two) that share a
    // range would otherwise both see an id as free before either job starts, and one job's clean-up (which kills
    // every process of its uid) would kill the other's job, which could also read the first job's files.
    private RunAsAccount Lease(UidRange range, string jobId)
    {
        lock (_leases)
        {
            ulong size = (ulong)range.Last - range.First + 1;
            for (ulong i = 0; i < Math.Min(size, 100_000); i++)
            {
                uint uid = range.First + (uint)((_cursor + i) % size);
                if (_leases.ContainsKey(uid) || Accounts.UidExists(uid)) continue;
                if (UidLock.TryAcquire(uid) is not { } held) continue;
                if (ProcFs.OwnedBy(uid).Count > 0)
                {
                    held.Dispose();
                    continue;
                }
                _cursor = (uint)(((ulong)uid - range.First + 1) % size);
                _leases[uid] = jobId;
                _locks[uid] = held;
                return new RunAsAccount("uid " + uid.ToString(CultureInfo.InvariantCulture), uid, uid, "/nonexistent", PerJob: true);
            }
        }
        throw new CompGridException($"JobUserIds: no free user id is left in {options.JobUserIds}; the job was not started.") { Backend = backend, Operation = "submit", JobId = jobId, IsTransient = true };
    }
}

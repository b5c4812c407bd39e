using System.Globalization;
using System.Runtime.Versioning;

namespace CompGrid.Local.Sandbox;

/// <summary>
/// A machine-wide lease on one job uid: an exclusive lock on <c>/run/compgrid/job-uids/&lt;uid&gt;.lock</c>, held for as
/// long as the job may run. The kernel drops the lock when its holder exits, so a crashed portal leaks no lease (the
/// uid then still counts as taken while a process of it runs).
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class UidLock : IDisposable
{
    /// <summary>Root-only tmpfs: per-job uids are only used when the host runs as root.</summary>
    internal const string Directory = "/run/compgrid/job-uids";

    private readonly FileStream _file;

    private UidLock(FileStream file) => _file = file;

    /// <summary>Takes the lease, or returns null when another holder (another backend or process) has it.</summary>
    public static UidLock? TryAcquire(uint uid)
    {
        System.IO.Directory.CreateDirectory(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string path = Path.Combine(Directory, uid.ToString(CultureInfo.InvariantCulture) + ".lock");
        try
        {
            // On Unix, FileShare.None takes flock(LOCK_EX | LOCK_NB) on the open file description: it excludes
            // every other open of the file, in this process or another.
            return new UidLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _file.Dispose();
}

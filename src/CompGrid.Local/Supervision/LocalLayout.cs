using System.Runtime.Versioning;
using CompGrid.Local.Processes;

namespace CompGrid.Local.Supervision;

/// <summary>
/// The state root's layout and modes. <c>supervisor/</c> (0700, root) holds the backend's records and the jobs' logs;
/// <c>jobs/</c> (0711: enter, not list) holds one 0700 directory per job owned by the account it runs as;
/// <c>outputs/</c> (0700) receives staged outputs. The root itself is 0711.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class LocalLayout
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode EnterOnly = Private | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    public LocalLayout(string stateDirectory, bool sharedWithJobs)
    {
        Root = Path.GetFullPath(stateDirectory);
        Supervisor = Path.Combine(Root, "supervisor");
        Jobs = Path.Combine(Root, "jobs");
        Outputs = Path.Combine(Root, "outputs");
        // Jobs running as other accounts may enter the root and jobs/ to reach their own directory, nothing more.
        var traversable = sharedWithJobs ? EnterOnly : Private;
        Ensure(Root, traversable, sharedWithJobs);
        Ensure(Supervisor, Private, sharedWithJobs);
        Ensure(Jobs, traversable, sharedWithJobs);
        Ensure(Outputs, Private, sharedWithJobs);
    }

    public string Root { get; }
    public string Supervisor { get; }
    public string Jobs { get; }
    public string Outputs { get; }

    public string SupervisorDir(string id) => Path.Combine(Supervisor, id);
    public string JobDir(string id) => Path.Combine(Jobs, id);

    /// <summary>Creates the job's private directory (and its working directory) owned by the account it runs as.</summary>
    public string CreateJobDirectory(string id, uint? uid, uint? gid)
    {
        string dir = JobDir(id);
        Directory.CreateDirectory(dir, Private);
        string work = Path.Combine(dir, "work");
        Directory.CreateDirectory(work, Private);
        if (uid is { } u) { Own(dir, u, gid!.Value); Own(work, u, gid.Value); }
        return work;
    }

    internal static void Own(string path, uint uid, uint gid)
    {
        if (Libc.LChown(path, uid, gid) != 0)
            throw new IOException($"Cannot give {path} to uid {uid}: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}.");
    }

    private static void Ensure(string dir, UnixFileMode mode, bool rootOwned)
    {
        Directory.CreateDirectory(dir, mode);
        if (rootOwned) Own(dir, 0, 0);
        File.SetUnixFileMode(dir, mode); // an existing directory keeps its old mode otherwise
    }
}

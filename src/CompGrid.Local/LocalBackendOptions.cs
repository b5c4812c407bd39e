namespace CompGrid.Local;

/// <summary>One logical node of the local backend.</summary>
public sealed class LocalNodeOptions
{
    /// <summary>The node name. Required.</summary>
    /// <value>The default is empty (invalid): every node needs a name.</value>
    public string Name { get; set; } = "";

    /// <summary>CPU slots.</summary>
    /// <value>The default is the machine's processor count.</value>
    public int Cpus { get; set; } = Environment.ProcessorCount;

    /// <summary>Memory in MiB.</summary>
    /// <value>The default is the memory available to this process.</value>
    public long MemoryMiB { get; set; } = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024 * 1024);

    /// <summary>Node features.</summary>
    /// <value>The default is none.</value>
    public IList<string> Features { get; set; } = [];

    /// <summary>Partitions the node belongs to.</summary>
    /// <value>The default is <c>local</c>.</value>
    public IList<string> Partitions { get; set; } = ["local"];
}

/// <summary>
/// Options of the local backend. Bind from configuration (for example <c>CompGrid:Local</c>); validated at start-up by
/// one validator, for DI and for <see cref="LocalBackend.Create"/> alike.
/// </summary>
public sealed class LocalBackendOptions
{
    /// <summary>
    /// The backend's state root. It holds <c>supervisor/</c> (the backend's own records and the jobs' logs: root-only),
    /// <c>jobs/</c> (each job's private directory) and <c>outputs/</c>. Keep it on local disk, and outside any directory
    /// that holds the portal's database; a restart of the engine finds running jobs here.
    /// </summary>
    /// <value>The default is <c>$TMPDIR/compgrid-local</c>.</value>
    public string StateDirectory { get; set; } = Path.Combine(Path.GetTempPath(), "compgrid-local");

    /// <summary>Where outputs are staged for jobs that set no <see cref="JobSpec.OutputDirectory"/>.</summary>
    /// <value>The default is <c>StateDirectory/outputs/&lt;job id&gt;</c>.</value>
    public string? OutputDirectory { get; set; }

    /// <summary>The logical nodes.</summary>
    /// <value>The default is one node named <c>local</c> with the machine's CPUs and memory.</value>
    public IList<LocalNodeOptions> Nodes { get; set; } = [];

    /// <summary>The shell for command-line payloads (and for the small supervising wrapper).</summary>
    /// <value>The default is <c>/bin/sh</c>.</value>
    public string Shell { get; set; } = "/bin/sh";

    /// <summary>How long a cancelled or timed-out job gets between SIGTERM and SIGKILL.</summary>
    /// <value>The default is 2 seconds.</value>
    public TimeSpan KillGracePeriod { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often running jobs' memory and CPU are sampled (the fallback without cgroups) and leftover cgroups retried.</summary>
    /// <value>The default is 500 ms.</value>
    public TimeSpan SampleInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The most bytes of each log returned by <c>GetLogsAsync</c> (the tail is kept).</summary>
    /// <value>The default is 4 MiB.</value>
    public int MaxLogBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Environment variables passed from the host to every job (the rest of the host's environment is not).
    /// <c>HOME</c>, <c>USER</c> and <c>LOGNAME</c> are set to the job's own account when jobs run as another user.</summary>
    /// <value>The default is PATH, HOME, USER, LOGNAME, LANG, TZ and TMPDIR.</value>
    public IList<string> InheritedEnvironment { get; set; } = ["PATH", "HOME", "USER", "LOGNAME", "LANG", "TZ", "TMPDIR"];

    /// <summary>
    /// The OS account jobs run as when the host runs as root and <see cref="OwnerAccounts"/> does not name the owner.
    /// When the host does not run as root, jobs run as the host's own user and this must be unset.
    /// </summary>
    /// <value>The default is null: <c>nobody</c> when the host runs as root.</value>
    public string? RunAsUser { get; set; }

    /// <summary>
    /// Maps a job owner (the portal user) to the OS account the job runs as, so that each owner's jobs run under an
    /// account of their own and cannot read each other's files. Needs the host to run as root.
    /// </summary>
    /// <value>The default is empty: every job runs as <see cref="RunAsUser"/>.</value>
    public IDictionary<string, string> OwnerAccounts { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// A range of numeric user ids, <c>first-last</c>, from which each job (whose owner <see cref="OwnerAccounts"/> does
    /// not map) gets a uid of its own for as long as it runs, so jobs cannot read, signal or trace each other even when
    /// they belong to the same owner. Ids with an account in the password database, and ids with a live process, are
    /// skipped. The job's primary group is the same number and it has no supplementary groups. Ignored when the host does
    /// not run as root (jobs then run as the host's own user, and a warning says so at start-up), so a configuration
    /// can set it for both.
    /// </summary>
    /// <value>The default is null: jobs share <see cref="RunAsUser"/>.</value>
    public string? JobUserIds { get; set; }

    /// <summary>
    /// Whether <see cref="IComputeBackend.CompleteAsync"/> also removes the job's records and logs, leaving no file of
    /// the job behind (ephemeral machines such as the CompGrid agent's, where the portal keeps the logs).
    /// </summary>
    /// <value>The default is false: records and logs stay readable after completion.</value>
    public bool RemoveRecordsOnComplete { get; set; }

    /// <summary>Whether jobs may run as root (uid 0). A job that would run as root is refused unless this is set.</summary>
    /// <value>The default is false.</value>
    public bool AllowRunAsRoot { get; set; }

    /// <summary>
    /// Whether each job gets cgroups of its own (CPU quota, memory limit, process limit, freeze-and-kill, accounting).
    /// Where the machine offers none (not root, no writable hierarchy), the backend logs a warning at start-up and
    /// falls back to the session kill with rlimits.
    /// </summary>
    /// <value>The default is true.</value>
    public bool EnableCgroups { get; set; } = true;

    /// <summary>
    /// Where the jobs' cgroups go in each hierarchy: a relative path is placed under the host process's own cgroup, an
    /// absolute one under the hierarchy's root. The backend adds a directory per backend instance, then one per job.
    /// </summary>
    /// <value>The default is <c>compgrid</c>.</value>
    public string CgroupRoot { get; set; } = "compgrid";

    /// <summary>
    /// The most processes (and threads) one job may have: the <c>pids</c> cgroup limit, or <c>RLIMIT_NPROC</c> of the
    /// run-as account in the fallback. 0 means no limit.
    /// </summary>
    /// <value>The default is 512.</value>
    public int MaxProcesses { get; set; } = 512;

    /// <summary>Checks the options; returns the problems, each naming the option and the rule.</summary>
    public IReadOnlyList<string> Validate() => LocalBackendOptionsValidator.Errors("local", this);
}

namespace CompGrid.Slurm;

/// <summary>How CompGrid talks to the Slurm cluster.</summary>
public enum SlurmTransport
{
    /// <summary>The Slurm CLI (<c>sbatch</c>, <c>squeue</c>, <c>scontrol</c>, <c>scancel</c>, <c>sacct</c>, <c>sinfo</c>) on this machine.</summary>
    Cli,

    /// <summary>The Slurm CLI on a login node, over SSH (see <see cref="SlurmBackendOptions.SshClient"/>).</summary>
    Ssh,

    /// <summary>The Slurm REST API (<c>slurmrestd</c>) with JWT authentication.</summary>
    Rest,
}

/// <summary>Which SSH implementation carries the <see cref="SlurmTransport.Ssh"/> transport (and logs read over SSH).</summary>
public enum SshClientKind
{
    /// <summary>
    /// SSH.NET in process: one connection per cluster carrying concurrent channels, keepalive, reconnect after a drop, host
    /// keys checked against <see cref="SlurmBackendOptions.SshKnownHostsFile"/>, the key from a file or a stream.
    /// </summary>
    SshNet,

    /// <summary>
    /// The system OpenSSH client (<c>ssh</c>) as a child process per command, sharing a ControlMaster connection: for sites
    /// that need what SSH.NET lacks (ProxyJump, Kerberos/GSSAPI, an agent, <c>ssh_config</c>).
    /// </summary>
    OpenSsh,
}

/// <summary>Where job output files are read from.</summary>
public enum SlurmLogAccess
{
    /// <summary><see cref="Local"/> for the local CLI, <see cref="Ssh"/> for the SSH transport, and for REST <see cref="Ssh"/> when <see cref="SlurmBackendOptions.SshHost"/> is set, otherwise <see cref="Local"/>.</summary>
    Auto,

    /// <summary>The output directory is visible on this machine (same host or a shared filesystem).</summary>
    Local,

    /// <summary>Output files are read over SSH (<c>tail -c</c> on the login node).</summary>
    Ssh,
}

/// <summary>
/// Options of one Slurm cluster (one named backend). Bind them from configuration
/// (<c>CompGrid:Backends:campus</c>) or set them in code; they are validated when the host starts.
/// </summary>
public sealed class SlurmBackendOptions
{
    /// <summary>The transport. The default is <see cref="SlurmTransport.Cli"/>.</summary>
    public SlurmTransport Transport { get; set; } = SlurmTransport.Cli;

    // ---------------------------------------------------------------- REST

    /// <summary>The slurmrestd base address (for example <c>http://slurm-rest.example.edu:6820</c>); required for <see cref="SlurmTransport.Rest"/>.</summary>
    public Uri? RestUrl { get; set; }

    /// <summary>The REST API version to speak (for example <c>v0.0.38</c>), or null to discover it from the server. The default is null.</summary>
    public string? RestApiVersion { get; set; }

    /// <summary>A JWT (from <c>scontrol token</c>). Used as is until it expires. The default is null.</summary>
    public string? Token { get; set; }

    /// <summary>A file holding a JWT (optionally as <c>SLURM_JWT=…</c>); re-read before the token expires, so an external job can rotate it. The default is null.</summary>
    public string? TokenFile { get; set; }

    /// <summary>
    /// The cluster's HS256 key (<c>AuthAltParameters=jwt_key=…</c>). When set, CompGrid mints its own short-lived tokens for
    /// <see cref="TokenUser"/> and renews them before expiry. Keep the key as secret as the cluster's root account. The default is null.
    /// </summary>
    public string? JwtKeyFile { get; set; }

    /// <summary>The user the token belongs to (the <c>X-SLURM-USER-NAME</c> header). The default is the current OS user.</summary>
    public string? TokenUser { get; set; }

    /// <summary>The lifetime of tokens minted from <see cref="JwtKeyFile"/>. The default is 30 minutes.</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>How long before expiry a token is renewed. The default is 2 minutes.</summary>
    public TimeSpan TokenRefreshMargin { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Whether jobs are submitted on behalf of their owners (REST only): the token must be a service token (root or
    /// SlurmUser), and <c>X-SLURM-USER-NAME</c> carries the owner's Slurm user from <see cref="UserMapping"/>, which must
    /// list every owner; jobs are never submitted as root. The default is <see langword="false"/> (every job runs as
    /// <see cref="TokenUser"/>).
    /// </summary>
    public bool SubmitAsJobOwner { get; set; }

    /// <summary>The HTTP request timeout. The default is 30 seconds.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    // ---------------------------------------------------------------- CLI / SSH

    /// <summary>The <c>SLURM_CONF</c> the CLI uses, or null for the system default. The default is null.</summary>
    public string? SlurmConf { get; set; }

    /// <summary>The directory of the Slurm commands, or null to find them on <c>PATH</c>. The default is null.</summary>
    public string? SlurmBinDirectory { get; set; }

    /// <summary>The timeout of one CLI command (local or over SSH). The default is 60 seconds.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The SSH implementation. The default is <see cref="SshClientKind.SshNet"/>.</summary>
    public SshClientKind SshClient { get; set; } = SshClientKind.SshNet;

    /// <summary>The SSH host (login node); required for <see cref="SlurmTransport.Ssh"/>.</summary>
    public string? SshHost { get; set; }

    /// <summary>The SSH port. The default is 22.</summary>
    public int SshPort { get; set; } = 22;

    /// <summary>The SSH user; jobs submitted over SSH run as this user. Required for <see cref="SlurmTransport.Ssh"/>.</summary>
    public string? SshUser { get; set; }

    /// <summary>
    /// The private key file (OpenSSH, PEM or PuTTY format; re-read at each connect). SSH needs this or
    /// <see cref="SshPrivateKey"/>. With <see cref="SshClientKind.OpenSsh"/> it must have no passphrase (BatchMode is on).
    /// The default is null.
    /// </summary>
    public string? SshIdentityFile { get; set; }

    /// <summary>
    /// The private key as a stream (for example from a secret store), read once when the backend is created; SSH.NET only.
    /// Takes precedence over <see cref="SshIdentityFile"/>. The default is null.
    /// </summary>
    public Stream? SshPrivateKey { get; set; }

    /// <summary>The passphrase of the private key; SSH.NET only. The default is null (an unencrypted key).</summary>
    public string? SshPrivateKeyPassphrase { get; set; }

    /// <summary>
    /// The known_hosts file holding the host key (plain, <c>[host]:port</c> and hashed <c>|1|…</c> entries, wildcards,
    /// negation and <c>@revoked</c>); strict host-key checking is always on. Required for SSH.
    /// </summary>
    public string? SshKnownHostsFile { get; set; }

    /// <summary>How often a keepalive is sent on an idle SSH connection, so a dead one is noticed. The default is 15 seconds.</summary>
    public TimeSpan SshKeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The most commands running at once on the one SSH.NET connection (sshd's <c>MaxSessions</c> is 10 by default). The default is 8.</summary>
    public int SshMaxChannels { get; set; } = 8;

    /// <summary>The OpenSSH client (<see cref="SshClientKind.OpenSsh"/>). The default is <c>ssh</c> (found on <c>PATH</c>).</summary>
    public string SshExecutable { get; set; } = "ssh";

    /// <summary>How long the shared OpenSSH connection (ControlMaster) stays open after its last use; zero disables connection reuse. The default is 60 seconds.</summary>
    public TimeSpan SshControlPersist { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The SSH connect timeout. The default is 10 seconds.</summary>
    public TimeSpan SshConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    // ---------------------------------------------------------------- jobs

    /// <summary>
    /// A directory on the cluster (shared by the nodes and readable by CompGrid) that receives each job's output files
    /// <c>compgrid-&lt;id&gt;.out</c>/<c>.err</c> and, unless a job names its own working directory, the per-job working
    /// directories. Required.
    /// </summary>
    public string? OutputDirectory { get; set; }

    /// <summary>Where logs are read from. The default is <see cref="SlurmLogAccess.Auto"/>.</summary>
    public SlurmLogAccess LogAccess { get; set; } = SlurmLogAccess.Auto;

    /// <summary>
    /// The most log bytes returned per stream: only the last this many bytes are read, and <see cref="JobLogs.Truncated"/>
    /// says the rest was cut. The default is 1 MiB.
    /// </summary>
    public int MaxLogBytes { get; set; } = 1024 * 1024;

    /// <summary>The partition for jobs that name none, or null for the cluster's default. The default is null.</summary>
    public string? DefaultPartition { get; set; }

    /// <summary>The partition for GPU jobs that name none, or null to use <see cref="DefaultPartition"/>. The default is null.</summary>
    public string? GpuPartition { get; set; }

    /// <summary>CompGrid partition (pool) names mapped to Slurm partitions; unmapped names pass through.</summary>
    public Dictionary<string, string> PartitionMapping { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Grant codes (<see cref="JobSpec.Account"/>) mapped to Slurm accounts; unmapped codes pass through.</summary>
    public Dictionary<string, string> AccountMapping { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The Slurm account for jobs without one, or null for the user's default account. The default is null.</summary>
    public string? DefaultAccount { get; set; }

    /// <summary>
    /// CompGrid owners (<see cref="JobSpec.Owner"/>) mapped to Slurm user names, for <see cref="SubmitAsJobOwner"/>. The
    /// mapping is explicit: a job whose owner has no entry is refused before anything is submitted, and no entry may name
    /// <c>root</c> or uid 0. The default is empty.
    /// </summary>
    public Dictionary<string, string> UserMapping { get; set; } = new(StringComparer.Ordinal);

    /// <summary>How long <c>GetUsageAsync</c> waits for slurmdbd to hold the ended job's record. The default is 60 seconds.</summary>
    public TimeSpan AccountingWait { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often accounting is polled while waiting. The default is 1 second.</summary>
    public TimeSpan AccountingPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    // ---------------------------------------------------------------- resilience

    /// <summary>Retries of a transient fault (connection refused, timeouts, a busy slurmctld). The default is 3.</summary>
    public int MaxRetryAttempts { get; set; } = 3;

    /// <summary>The first retry delay; later ones grow exponentially, with jitter. The default is 1 second.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long the cluster's circuit stays open after too many transient faults. The default is 15 seconds.</summary>
    public TimeSpan CircuitBreakDuration { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The share of failed calls (within 30 s, at least 8 calls) that opens the circuit. The default is 0.8.</summary>
    public double CircuitFailureRatio { get; set; } = 0.8;
}

namespace CompGrid.Docker;

/// <summary>When the backend pulls a job's image from its registry.</summary>
public enum ImagePullPolicy
{
    /// <summary>Pull only when the engine does not have the image.</summary>
    IfMissing,
    /// <summary>Never pull; a missing image fails the submission.</summary>
    Never,
    /// <summary>Pull before every job.</summary>
    Always,
}

/// <summary>
/// Options of a Docker backend: the engines that form its pool (each engine is one node CompGrid places jobs on) and
/// the defaults every container job gets. Bind from configuration or set in code; validated at start-up.
/// </summary>
public sealed class DockerBackendOptions
{
    /// <summary>The engines of the pool, one node each. At least one is required.</summary>
    public IList<DockerEngineOptions> Engines { get; set; } = [];

    /// <summary>
    /// The image that runs command-line, script and executable payloads, or null to accept container payloads only.
    /// The default is null.
    /// </summary>
    public string? DefaultImage { get; set; }

    /// <summary>
    /// The user containers run as, numeric <c>uid[:gid]</c>, or null for the image's own user. Staged files are owned by
    /// it. <value>The default is <c>65534:65534</c> (nobody), so jobs never run as root.</value>
    /// </summary>
    public string? User { get; set; } = "65534:65534";

    /// <summary>
    /// Where the job's volume is mounted in the container; the working directory is created inside it, owned by
    /// <see cref="User"/>. A volume keeps staging working with a read-only root filesystem.
    /// <value>The default is <c>/compgrid</c>.</value>
    /// </summary>
    public string JobVolumePath { get; set; } = "/compgrid";

    /// <summary>The working directory in the container when the spec names none. <value>The default is <c>/compgrid/work</c>.</value></summary>
    public string WorkingDirectory { get; set; } = "/compgrid/work";

    /// <summary>
    /// The directory outputs are copied to when the spec names none (a sub-directory per job), on the machine running
    /// CompGrid. <value>The default is <c>compgrid-docker/outputs</c> under the temporary directory.</value>
    /// </summary>
    public string? OutputDirectory { get; set; }

    /// <summary>
    /// Where the final logs of removed containers are kept, so they stay readable.
    /// <value>The default is <c>compgrid-docker/logs</c> under the temporary directory.</value>
    /// </summary>
    public string? LogDirectory { get; set; }

    /// <summary>
    /// The named network that jobs whose payload asks for one (<see cref="JobPayload.Network"/>) are attached to, for
    /// example <c>bridge</c> or a user-defined network; <c>host</c> and <c>container:…</c> are refused. Every other job
    /// runs with <c>none</c> (loopback only). <value>The default is null: no job gets a network, and a job asking for
    /// one is rejected at submission (field <c>payload.network</c>).</value>
    /// </summary>
    public string? NetworkMode { get; set; }

    /// <summary>Whether containers run an init process (<c>docker-init</c>) so signals and zombies are handled. <value>The default is <see langword="true"/>.</value></summary>
    public bool Init { get; set; } = true;

    /// <summary>The maximum number of processes in a container. <value>The default is 4096.</value></summary>
    public long PidsLimit { get; set; } = 4096;

    /// <summary>
    /// Whether jobs are pinned to as many CPU cores as they asked for (<c>CpusetCpus</c>, so <c>nproc</c> inside the
    /// container shows the allocation), besides the CPU quota. <value>The default is <see langword="true"/>.</value>
    /// </summary>
    public bool PinCpus { get; set; } = true;

    /// <summary>When images are pulled. <value>The default is <see cref="ImagePullPolicy.IfMissing"/>.</value></summary>
    public ImagePullPolicy PullPolicy { get; set; } = ImagePullPolicy.IfMissing;

    /// <summary>
    /// The registries images may come from (host names with an optional port, as in <c>registry.example.edu:5000</c>;
    /// <c>docker.io</c> for Docker Hub, which is also what an image without a registry part names). A job whose image
    /// names another registry is rejected at submission (field <c>payload.image</c>), before anything is pulled.
    /// <value>The default is empty: any registry.</value>
    /// </summary>
    public IList<string> AllowedRegistries { get; set; } = [];

    /// <summary>
    /// Credentials for pulls, one per registry. A pull sends the credential of the image's own registry and no other
    /// (a job naming a registry it controls never receives another registry's secret). <value>The default is empty.</value>
    /// </summary>
    public IList<DockerRegistryCredential> RegistryCredentials { get; set; } = [];

    /// <summary>
    /// The most bytes (regular file contents, summed over all outputs of a job) staged out; an output that would
    /// exceed it is not staged at all and completion reports <c>output-limit</c>. <value>The default is 1 GiB.</value>
    /// </summary>
    public long MaxOutputBytes { get; set; } = 1L << 30;

    /// <summary>
    /// The most files, directories and links (summed over all outputs of a job) staged out; an output that would exceed
    /// it is not staged at all. <value>The default is 10,000.</value>
    /// </summary>
    public int MaxOutputFiles { get; set; } = 10_000;

    /// <summary>The device driver of GPU requests. <value>The default is <c>nvidia</c>.</value></summary>
    public string GpuDriver { get; set; } = "nvidia";

    /// <summary>How long a cancelled or timed-out container gets between SIGTERM and SIGKILL. <value>The default is 10 s.</value></summary>
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The timeout of one non-streaming Engine API call. <value>The default is 30 s.</value></summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one health ping may take before the engine counts as unreachable. <value>The default is 5 s.</value></summary>
    public TimeSpan HealthCheckTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often each engine is pinged. <value>The default is 5 s.</value></summary>
    public TimeSpan HealthCheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long an engine may be unreachable before its node is reported Down and its running jobs NodeFailed (a
    /// restart of dockerd shorter than this loses nothing). The node is not offered to placement meanwhile.
    /// <value>The default is 30 s.</value>
    /// </summary>
    public TimeSpan EngineDownAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often running containers' stats are sampled for metering (CPU time, peak memory). <value>The default is 5 s.</value></summary>
    public TimeSpan StatsInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The most log bytes kept per stream and job. <value>The default is 16 MiB.</value></summary>
    public int MaxLogBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>The newest Engine API version the client speaks; negotiated down to the engine's, never below 1.40. <value>The default is <c>1.47</c>.</value></summary>
    public string MaxApiVersion { get; set; } = "1.47";
}

/// <summary>One Docker engine: a node of the backend's pool.</summary>
public sealed class DockerEngineOptions
{
    /// <summary>The node name (letters, digits, <c>.</c>, <c>_</c>, <c>-</c>), unique within the backend. Required.</summary>
    public string Name { get; set; } = "";

    /// <summary>
    /// Where the engine listens: <c>unix:///path/docker.sock</c>, <c>tcp://host:2376</c> (TLS when <see cref="Tls"/> is
    /// set), <c>http://</c> or <c>https://</c>. <value>The default is null: <c>DOCKER_HOST</c>, else <c>unix:///var/run/docker.sock</c>.</value>
    /// </summary>
    public string? Endpoint { get; set; }

    /// <summary>TLS settings for a TCP engine, or null.</summary>
    public DockerTlsOptions? Tls { get; set; }

    /// <summary>CPUs offered to CompGrid, or null for the engine's <c>NCPU</c>.</summary>
    public int? Cpus { get; set; }

    /// <summary>Memory offered to CompGrid in MiB, or null for the engine's <c>MemTotal</c>.</summary>
    public long? MemoryMiB { get; set; }

    /// <summary>GPUs of the host. <value>The default is 0.</value></summary>
    public int Gpus { get; set; }

    /// <summary>The GPU model, or null.</summary>
    public string? GpuModel { get; set; }

    /// <summary>Node features (for example <c>avx512</c>, <c>lab</c>); <c>docker</c> is always added.</summary>
    public IList<string> Features { get; set; } = [];

    /// <summary>Partitions (node pools) the engine belongs to.</summary>
    public IList<string> Partitions { get; set; } = [];
}

/// <summary>A registry credential, sent only with pulls from that registry.</summary>
public sealed class DockerRegistryCredential
{
    /// <summary>The registry host (with port if any), for example <c>registry.example.edu</c> or <c>docker.io</c>. Required.</summary>
    public string Registry { get; set; } = "";

    /// <summary>The user name, or null with <see cref="IdentityToken"/>. <value>The default is null.</value></summary>
    public string? Username { get; set; }

    /// <summary>The password or access token. <value>The default is null.</value></summary>
    public string? Password { get; set; }

    /// <summary>An identity (refresh) token instead of user name and password. <value>The default is null.</value></summary>
    public string? IdentityToken { get; set; }
}

/// <summary>TLS for a TCP engine (like <c>docker --tlsverify</c>): PEM files.</summary>
public sealed class DockerTlsOptions
{
    /// <summary>The CA certificate that signed the engine's certificate, or null to use the system's trust store.</summary>
    public string? CaCertificateFile { get; set; }

    /// <summary>The client certificate, or null for no client authentication.</summary>
    public string? ClientCertificateFile { get; set; }

    /// <summary>The client certificate's private key (required with <see cref="ClientCertificateFile"/>).</summary>
    public string? ClientKeyFile { get; set; }
}

using System.Diagnostics;
using CompGrid.Slurm;
using CompGrid.Testing;

namespace CompGrid.Slurm.Tests.Cluster;

/// <summary>
/// One of the test clusters: Slurm 22.05 (eng/backends/slurm.sh, variables COMPGRID_SLURM_*) or Slurm 24.11 from a
/// Debian 13 rootfs (eng/backends/slurm24.sh, COMPGRID_SLURM24_*). Tests name the release they ran against.
/// </summary>
public sealed class SlurmCluster
{
    public const string Name = "Slurm";
    public const string UrlVariable = "COMPGRID_SLURM_REST_URL";
    public const string Name2411 = "Slurm24";
    public const string Url2411Variable = "COMPGRID_SLURM24_REST_URL";
    public const string TestUser = "cgtest";

    /// <summary>Slurm 22.05.8 on the host: REST v0.0.38, four nodes n1-n4 (gpu: n1, n2), the local CLI too.</summary>
    public static SlurmCluster V2205 { get; } = new(Name, "COMPGRID_SLURM_", "22.05", ["n1", "n2", "n3", "n4"], ["n1", "n2"], "v0.0.38");

    /// <summary>Slurm 24.11.5 in its rootfs: REST v0.0.40-v0.0.42, three nodes t1-t3 (gpu: t1, t2); no CLI on this host.</summary>
    public static SlurmCluster V2411 { get; } = new(Name2411, "COMPGRID_SLURM24_", "24.11", ["t1", "t2", "t3"], ["t1", "t2"], "v0.0.42");

    private readonly string _prefix;

    private SlurmCluster(string backend, string prefix, string release, string[] nodes, string[] gpuNodes, string newestRestVersion)
    {
        Backend = backend;
        _prefix = prefix;
        Release = release;
        Nodes = nodes;
        GpuNodes = gpuNodes;
        NewestRestVersion = newestRestVersion;
    }

    /// <summary>The backend name in <see cref="RequiresBackendAttribute"/> and the env file.</summary>
    public string Backend { get; }

    /// <summary>The Slurm release line, for test output.</summary>
    public string Release { get; }

    public IReadOnlyList<string> Nodes { get; }

    public IReadOnlyList<string> GpuNodes { get; }

    /// <summary>The newest REST version the cluster serves (what discovery must pick).</summary>
    public string NewestRestVersion { get; }

    public override string ToString() => "Slurm " + Release;

    /// <summary>A variable of this cluster, by its 22.05 name (COMPGRID_SLURM_X becomes COMPGRID_SLURM24_X for 24.11).</summary>
    public string Env(string variable) =>
        BackendEnvironment.Get(_prefix + variable["COMPGRID_SLURM_".Length..], Backend);

    public SlurmBackendOptions CommonOptions() => new()
    {
        OutputDirectory = Env("COMPGRID_SLURM_JOBS_DIR"),
        SlurmConf = Env("COMPGRID_SLURM_CONF"),
        DefaultPartition = "debug",
        GpuPartition = "gpu",
        MaxRetryAttempts = 2,
        RetryBaseDelay = TimeSpan.FromMilliseconds(200),
        CircuitBreakDuration = TimeSpan.FromSeconds(2),
        AccountingWait = TimeSpan.FromSeconds(60),
        AccountingPollInterval = TimeSpan.FromMilliseconds(500),
        AccountMapping = { ["GR-PHYS-1"] = "physics" },
    };

    /// <summary>REST with no version configured: the client discovers the newest version the daemon serves.</summary>
    public SlurmBackendOptions RestOptions() => Configure(CommonOptions(), o =>
    {
        o.Transport = SlurmTransport.Rest;
        o.RestUrl = new Uri(Env(UrlVariable));
        o.TokenFile = Env("COMPGRID_SLURM_REST_TOKEN_FILE");
        o.TokenUser = "root";
        o.SubmitAsJobOwner = true; // root's token submits on behalf of the job owner (cgtest), mapped explicitly
        o.UserMapping[TestUser] = TestUser;
        o.LogAccess = SlurmLogAccess.Local;
    });

    /// <summary>The SSH transport over <paramref name="client"/> (SSH.NET, the default, or the OpenSSH process runner).</summary>
    public SlurmBackendOptions SshOptions(SshClientKind client = SshClientKind.SshNet) => Configure(CommonOptions(), o =>
    {
        o.Transport = SlurmTransport.Ssh;
        o.SshClient = client;
        o.SlurmConf = null; // sshd's SetEnv gives remote commands SLURM_CONF
        o.SshHost = Env("COMPGRID_SLURM_SSH_HOST");
        o.SshPort = int.Parse(Env("COMPGRID_SLURM_SSH_PORT"), System.Globalization.CultureInfo.InvariantCulture);
        o.SshUser = Env("COMPGRID_SLURM_SSH_USER");
        o.SshIdentityFile = Env("COMPGRID_SLURM_SSH_KEY");
        o.SshKnownHostsFile = Env("COMPGRID_SLURM_SSH_KNOWN_HOSTS");
        o.SshControlPersist = TimeSpan.FromSeconds(30);
    });

    public SlurmBackendOptions CliOptions() => Configure(CommonOptions(), o => o.Transport = SlurmTransport.Cli);

    private static SlurmBackendOptions Configure(SlurmBackendOptions o, Action<SlurmBackendOptions> configure)
    {
        configure(o);
        return o;
    }

    /// <summary>
    /// Runs a Slurm command as root against this cluster (to check the backend against Slurm's own view): on the host
    /// for 22.05, inside the rootfs (<c>slurm24.sh exec</c>) for 24.11.
    /// </summary>
    public async Task<string> RunAsync(string command, params string[] args)
    {
        bool inRootfs = this != V2205;
        var psi = new ProcessStartInfo(inRootfs ? "bash" : command) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (inRootfs)
        {
            psi.ArgumentList.Add(Env("COMPGRID_SLURM_SCRIPT"));
            psi.ArgumentList.Add("exec");
            psi.ArgumentList.Add("env");
            psi.ArgumentList.Add("SLURM_TIME_FORMAT=%s");
            psi.ArgumentList.Add(command);
            psi.Environment["COMPGRID_STATE"] = Env("COMPGRID_SLURM_STATE");
        }
        foreach (string a in args) psi.ArgumentList.Add(a);
        psi.Environment["SLURM_CONF"] = Env("COMPGRID_SLURM_CONF");
        psi.Environment["SLURM_TIME_FORMAT"] = "%s";
        psi.Environment.Remove("SLURM_JWT");
        using var p = Process.Start(psi)!;
        string stdout = await p.StandardOutput.ReadToEndAsync();
        string stderr = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, $"{command} {string.Join(' ', args)} on {this} failed: {stderr}");
        return stdout;
    }

    /// <summary>Runs the cluster script (stop-ctld / start-ctld).</summary>
    public async Task ScriptAsync(string verb)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Env("COMPGRID_SLURM_SCRIPT"));
        psi.ArgumentList.Add(verb);
        psi.Environment["COMPGRID_STATE"] = Env("COMPGRID_SLURM_STATE");
        using var p = Process.Start(psi)!;
        string stderr = await p.StandardError.ReadToEndAsync();
        await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, $"{Path.GetFileName(Env("COMPGRID_SLURM_SCRIPT"))} {verb} failed: {stderr}");
    }
}

/// <summary>One backend per transport, created once per test collection.</summary>
public abstract class SlurmBackendFixture : IAsyncDisposable
{
    private readonly Lazy<IComputeBackend> _backend;

    protected SlurmBackendFixture(Func<SlurmBackendOptions> options, string name) =>
        _backend = new Lazy<IComputeBackend>(() => SlurmBackend.Create(name, options()));

    public IComputeBackend Backend => _backend.Value;

    public async ValueTask DisposeAsync()
    {
        if (_backend.IsValueCreated && _backend.Value is IAsyncDisposable d) await d.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}

public sealed class SlurmRestFixture() : SlurmBackendFixture(SlurmCluster.V2205.RestOptions, "campus-rest");

public sealed class SlurmSshFixture() : SlurmBackendFixture(() => SlurmCluster.V2205.SshOptions(SshClientKind.SshNet), "campus-ssh");

public sealed class SlurmOpenSshFixture() : SlurmBackendFixture(() => SlurmCluster.V2205.SshOptions(SshClientKind.OpenSsh), "campus-openssh");

public sealed class SlurmCliFixture() : SlurmBackendFixture(SlurmCluster.V2205.CliOptions, "campus-cli");

/// <summary>Slurm 24.11 over REST with no version configured (discovery picks v0.0.42).</summary>
public sealed class Slurm2411RestFixture() : SlurmBackendFixture(SlurmCluster.V2411.RestOptions, "campus24-rest");

public sealed class Slurm2411SshFixture() : SlurmBackendFixture(() => SlurmCluster.V2411.SshOptions(SshClientKind.SshNet), "campus24-ssh");

public sealed class Slurm2411OpenSshFixture() : SlurmBackendFixture(() => SlurmCluster.V2411.SshOptions(SshClientKind.OpenSsh), "campus24-openssh");

[CollectionDefinition("SlurmRest")]
public sealed class SlurmRestCollection : ICollectionFixture<SlurmRestFixture>;

[CollectionDefinition("SlurmSsh")]
public sealed class SlurmSshCollection : ICollectionFixture<SlurmSshFixture>;

[CollectionDefinition("SlurmOpenSsh")]
public sealed class SlurmOpenSshCollection : ICollectionFixture<SlurmOpenSshFixture>;

[CollectionDefinition("SlurmScenarios")]
public sealed class SlurmScenarioCollection : ICollectionFixture<SlurmRestFixture>, ICollectionFixture<SlurmSshFixture>, ICollectionFixture<SlurmOpenSshFixture>,
    ICollectionFixture<SlurmCliFixture>;

[CollectionDefinition("Slurm2411Rest")]
public sealed class Slurm2411RestCollection : ICollectionFixture<Slurm2411RestFixture>;

[CollectionDefinition("Slurm2411Ssh")]
public sealed class Slurm2411SshCollection : ICollectionFixture<Slurm2411SshFixture>;

[CollectionDefinition("Slurm2411Scenarios")]
public sealed class Slurm2411ScenarioCollection : ICollectionFixture<Slurm2411RestFixture>, ICollectionFixture<Slurm2411SshFixture>,
    ICollectionFixture<Slurm2411OpenSshFixture>;

/// <summary>Tests that stop slurmctld run alone, after the parallel collections.</summary>
[CollectionDefinition("SlurmControllerRestart", DisableParallelization = true)]
public sealed class SlurmControllerRestartCollection : ICollectionFixture<SlurmSshFixture>, ICollectionFixture<SlurmOpenSshFixture>, ICollectionFixture<SlurmRestFixture>;

using System.Diagnostics;
using CompGrid.Slurm;
using CompGrid.Testing;

namespace CompGrid.Slurm.Tests.Cluster;

/// <summary>The test cluster started by eng/backends/slurm.sh (variables from $COMPGRID_STATE/env/slurm.env).</summary>
internal static class SlurmCluster
{
    public const string Name = "Slurm";
    public const string UrlVariable = "COMPGRID_SLURM_REST_URL";
    public const string TestUser = "cgtest";

    public static string Env(string variable) => BackendEnvironment.Get(variable, Name);

    public static SlurmBackendOptions CommonOptions() => new()
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

    public static SlurmBackendOptions RestOptions() => Configure(CommonOptions(), o =>
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
    public static SlurmBackendOptions SshOptions(SshClientKind client = SshClientKind.SshNet) => Configure(CommonOptions(), o =>
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

    public static SlurmBackendOptions CliOptions() => Configure(CommonOptions(), o => o.Transport = SlurmTransport.Cli);

    private static SlurmBackendOptions Configure(SlurmBackendOptions o, Action<SlurmBackendOptions> configure)
    {
        configure(o);
        return o;
    }

    /// <summary>Runs a Slurm command on this host as root (to check the backend against Slurm's own view).</summary>
    public static async Task<string> RunAsync(string command, params string[] args)
    {
        var psi = new ProcessStartInfo(command) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args) psi.ArgumentList.Add(a);
        psi.Environment["SLURM_CONF"] = Env("COMPGRID_SLURM_CONF");
        psi.Environment["SLURM_TIME_FORMAT"] = "%s";
        psi.Environment.Remove("SLURM_JWT");
        using var p = Process.Start(psi)!;
        string stdout = await p.StandardOutput.ReadToEndAsync();
        string stderr = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, $"{command} {string.Join(' ', args)} failed: {stderr}");
        return stdout;
    }

    /// <summary>Runs the cluster script (stop-ctld / start-ctld).</summary>
    public static async Task ScriptAsync(string verb)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Env("COMPGRID_SLURM_SCRIPT"));
        psi.ArgumentList.Add(verb);
        psi.Environment["COMPGRID_STATE"] = Env("COMPGRID_SLURM_STATE");
        using var p = Process.Start(psi)!;
        string stderr = await p.StandardError.ReadToEndAsync();
        await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, $"slurm.sh {verb} failed: {stderr}");
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

public sealed class SlurmRestFixture() : SlurmBackendFixture(SlurmCluster.RestOptions, "campus-rest");

public sealed class SlurmSshFixture() : SlurmBackendFixture(() => SlurmCluster.SshOptions(SshClientKind.SshNet), "campus-ssh");

public sealed class SlurmOpenSshFixture() : SlurmBackendFixture(() => SlurmCluster.SshOptions(SshClientKind.OpenSsh), "campus-openssh");

public sealed class SlurmCliFixture() : SlurmBackendFixture(SlurmCluster.CliOptions, "campus-cli");

[CollectionDefinition("SlurmRest")]
public sealed class SlurmRestCollection : ICollectionFixture<SlurmRestFixture>;

[CollectionDefinition("SlurmSsh")]
public sealed class SlurmSshCollection : ICollectionFixture<SlurmSshFixture>;

[CollectionDefinition("SlurmOpenSsh")]
public sealed class SlurmOpenSshCollection : ICollectionFixture<SlurmOpenSshFixture>;

[CollectionDefinition("SlurmScenarios")]
public sealed class SlurmScenarioCollection : ICollectionFixture<SlurmRestFixture>, ICollectionFixture<SlurmSshFixture>, ICollectionFixture<SlurmOpenSshFixture>,
    ICollectionFixture<SlurmCliFixture>;

/// <summary>Tests that stop slurmctld run alone, after the parallel collections.</summary>
[CollectionDefinition("SlurmControllerRestart", DisableParallelization = true)]
public sealed class SlurmControllerRestartCollection : ICollectionFixture<SlurmSshFixture>, ICollectionFixture<SlurmOpenSshFixture>, ICollectionFixture<SlurmRestFixture>;

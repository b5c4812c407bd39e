using CompGrid.Slurm.Tests.Cluster;
using CompGrid.Testing;

namespace CompGrid.Slurm.Tests;

/// <summary>Shared settings: Slurm's walltime is in minutes and its timer checks every ~30 s, with KillWait=5 s.</summary>
public abstract class SlurmConformanceTestsBase(IComputeBackend backend) : BackendConformanceTests
{
    protected override IComputeBackend Backend { get; } = backend;

    protected override TimeSpan Timeout => TimeSpan.FromSeconds(180);

    protected override TimeSpan ShortWalltime => TimeSpan.FromMinutes(1);

    protected override TimeSpan PollInterval => TimeSpan.FromMilliseconds(500);

    protected override JobSpec BaseSpec(string name) => base.BaseSpec(name) with
    {
        Owner = SlurmCluster.TestUser,
        Account = "research",
        Resources = new() { Cpus = 1, MemoryMiB = 64 },
    };
}

[Trait("Category", "Slurm")]
[RequiresBackend(SlurmCluster.Name, SlurmCluster.UrlVariable)]
[Collection("SlurmRest")]
public sealed class SlurmRestConformanceTests(SlurmRestFixture fixture) : SlurmConformanceTestsBase(fixture.Backend);

[Trait("Category", "Slurm")]
[RequiresBackend(SlurmCluster.Name, SlurmCluster.UrlVariable)]
[Collection("SlurmSsh")]
public sealed class SlurmSshConformanceTests(SlurmSshFixture fixture) : SlurmConformanceTestsBase(fixture.Backend);

/// <summary>The same suite over the OpenSSH process runner (<see cref="SshClientKind.OpenSsh"/>).</summary>
[Trait("Category", "Slurm")]
[RequiresBackend(SlurmCluster.Name, SlurmCluster.UrlVariable)]
[Collection("SlurmOpenSsh")]
public sealed class SlurmOpenSshConformanceTests(SlurmOpenSshFixture fixture) : SlurmConformanceTestsBase(fixture.Backend);

/// <summary>The suite on Slurm 24.11 over REST, with no version configured (discovery picks v0.0.42).</summary>
[Trait("Category", "Slurm24")]
[RequiresBackend(SlurmCluster.Name2411, SlurmCluster.Url2411Variable)]
[Collection("Slurm2411Rest")]
public sealed class Slurm2411RestConformanceTests(Slurm2411RestFixture fixture) : SlurmConformanceTestsBase(fixture.Backend);

/// <summary>The suite on Slurm 24.11 over SSH (SSH.NET): the CLI transport reading 24.11's squeue/scontrol/sacct/sinfo.</summary>
[Trait("Category", "Slurm24")]
[RequiresBackend(SlurmCluster.Name2411, SlurmCluster.Url2411Variable)]
[Collection("Slurm2411Ssh")]
public sealed class Slurm2411SshConformanceTests(Slurm2411SshFixture fixture) : SlurmConformanceTestsBase(fixture.Backend);

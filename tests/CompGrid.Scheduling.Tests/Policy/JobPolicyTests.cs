using CompGrid.Policy;
using CompGrid.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CompGrid.Scheduling.Tests.Policy;

[Trait("Category", "Scheduling")]
public sealed class JobPolicyTests
{
    private static JobSpec Job(Func<JobSpec, JobSpec>? change = null)
    {
        var spec = new JobSpec { Owner = "alice", Payload = JobPayload.Command("true") };
        return change is null ? spec : change(spec);
    }

    private static JobPolicyOptions SampleHostLike()
    {
        var o = new JobPolicyOptions();
        o.UnrestrictedRoles.Add("Administrator");
        o.Default.MaxCpus = 64;
        o.Default.AllowedRegistries.Add("docker.io");
        return o;
    }

    private static async Task<JobPolicyDecision> EvaluateAsync(JobPolicyOptions options, JobSpec spec, params string[] roles) =>
        await JobPolicy.Create(options).EvaluateAsync(new JobPolicyContext { Spec = spec, Caller = new JobCaller(spec.Owner, roles) });

    [Fact]
    public async Task Default_UserAsksForNegativeNiceQosPartitionBackendNetworkRegistry_EachFieldDeniedWithReason()
    {
        var spec = Job(s => s with
        {
            Nice = -10_000, Qos = "scavenger", Constraints = new JobConstraints { Partition = "gpu", Backend = "campus" },
            Payload = JobPayload.Container("ghcr.io/evil/miner:1") with { Network = true },
        });
        var d = await EvaluateAsync(SampleHostLike(), spec);
        Assert.False(d.IsAllowed);
        Assert.Equal(["nice", "qos", "constraints.partition", "constraints.backend", "payload.image", "payload.network"], d.Violations.Select(v => v.Field));
        Assert.Contains("at least 0 for alice (the default rule)", d.Violations[0].Reason, StringComparison.Ordinal);
        Assert.Contains("registry 'ghcr.io'", d.Violations[4].Reason, StringComparison.Ordinal);
        var ex = Assert.Throws<JobPolicyException>(() => d.ThrowIfDenied());
        Assert.Equal(CompGridErrorCodes.PolicyDenied, ex.Code);
        Assert.False(ex.IsTransient);
    }

    [Fact]
    public async Task Default_PlainJob_Allowed_AdministratorAllowedAnything()
    {
        Assert.True((await EvaluateAsync(SampleHostLike(), Job(s => s with { Nice = 3, Payload = JobPayload.Container("alpine:3") }))).IsAllowed);
        var wild = Job(s => s with { Nice = -10_000, Qos = "scavenger", Resources = new ResourceRequest { Cpus = 1000, Nodes = 10 } });
        Assert.True((await EvaluateAsync(SampleHostLike(), wild, "Administrator")).IsAllowed);
    }

    [Fact]
    public async Task Sizes_OverTheRoleLimits_DeniedNamingTheResource_WalltimeAfterTheEngineDefault()
    {
        var o = SampleHostLike();
        o.Default.MaxNodes = 2;
        o.Default.MaxGpus = 0;
        o.Default.MaxMemoryMiB = 4096;
        o.Default.MaxWalltime = TimeSpan.FromHours(1);
        var spec = Job(s => s with { Resources = new ResourceRequest { Cpus = 40, Nodes = 3, Gpus = 1, MemoryMiB = 2048 } });
        var d = await JobPolicy.Create(o).EvaluateAsync(new JobPolicyContext { Spec = spec, Caller = JobCaller.WithoutRoles("alice"), Walltime = TimeSpan.FromHours(2) });
        Assert.Equal(["resources.cpus", "resources.nodes", "resources.gpus", "resources.memoryMiB", "walltime"], d.Violations.Select(v => v.Field));
        Assert.Contains("cpus × nodes = 120 is more than the 64 allowed", d.Violations[0].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RolesAndGrants_AllowancesAreUnited_RoleReplacesTheDefault()
    {
        var o = SampleHostLike();
        o.Roles["staff"] = new JobPolicyRule { MinNice = -100, MaxCpus = 8 };
        o.Roles["gpu"] = new JobPolicyRule { MaxCpus = 16 };
        o.Roles["gpu"].AllowedQos.Add("premium");
        o.Grants["big-lab"] = new JobPolicyRule { MaxCpus = 256 };
        o.Grants["big-lab"].AllowedQos.Add("*");

        var spec = Job(s => s with { Nice = -50, Qos = "premium", Resources = new ResourceRequest { Cpus = 16 } });
        Assert.True((await EvaluateAsync(o, spec, "staff", "gpu")).IsAllowed);
        var onlyStaff = await EvaluateAsync(o, spec, "staff");
        Assert.Equal(["qos", "resources.cpus"], onlyStaff.Violations.Select(v => v.Field));
        Assert.Contains("role 'staff'", onlyStaff.Violations[0].Reason, StringComparison.Ordinal);
        // A role replaces the default rule: the 64-CPU default does not add to staff's 8.
        Assert.False((await EvaluateAsync(o, Job(s => s with { Resources = new ResourceRequest { Cpus = 32 } }), "staff")).IsAllowed);

        var onGrant = Job(s => s with { Account = "big-lab", Qos = "scavenger", Resources = new ResourceRequest { Cpus = 200 } });
        Assert.True((await EvaluateAsync(o, onGrant)).IsAllowed);
        Assert.False((await EvaluateAsync(o, onGrant with { Account = "other" })).IsAllowed);
    }

    [Fact]
    public void Create_InvalidOptions_ArgumentExceptionNamingEachOption()
    {
        var o = new JobPolicyOptions();
        o.Default.MaxCpus = 0;
        o.Roles["x"] = new JobPolicyRule { MaxWalltime = TimeSpan.Zero, MinNice = -20_000 };
        o.Grants["g"] = new JobPolicyRule();
        o.Grants["g"].AllowedQos.Add(" ");
        var ex = Assert.Throws<ArgumentException>(() => JobPolicy.Create(o));
        foreach (string s in new[] { "Default:MaxCpus", "Roles:x:MaxWalltime", "Roles:x:MinNice", "Grants:g:AllowedQos" })
            Assert.Contains(s, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_BoundFromConfiguration()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["UnrestrictedRoles:0"] = "Administrator", ["Default:MinNice"] = "0", ["Default:AllowedQos:0"] = "normal", ["Default:MaxWalltime"] = "2.00:00:00",
            ["Roles:gpu:MaxGpus"] = "4", ["Roles:gpu:AllowedBackends:0"] = "*", ["Grants:lab:AllowContainerNetwork"] = "true",
        }).Build();
        var services = new ServiceCollection();
        services.AddCompGrid().AddJobPolicy(config);
        using var sp = services.BuildServiceProvider();
        var o = sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<JobPolicyOptions>>().Value;
        Assert.Equal(["Administrator"], o.UnrestrictedRoles);
        Assert.Equal(["normal"], o.Default.AllowedQos);
        Assert.Equal(TimeSpan.FromDays(2), o.Default.MaxWalltime);
        Assert.Equal(4, o.Roles["gpu"].MaxGpus);
        Assert.Equal(["*"], o.Roles["gpu"].AllowedBackends);
        Assert.True(o.Grants["lab"].AllowContainerNetwork);
    }

    [Fact]
    public async Task Engine_PolicyRunsBeforeEveryOtherCheck_ForbiddenJobReachesNoCheckAndIsNotStored()
    {
        var time = new ManualTimeProvider();
        var store = new InMemoryJobStore();
        var counting = new CountingCheck();
        await using var engine = CompGridEngine.Create(b => b
            .AddBackend(new InMemoryBackend("mem", time, nodes: 1, cpusPerNode: 4, memoryMiBPerNode: 4096))
            .UseJobStore(store).UseTimeProvider(time)
            .AddAdmissionCheck(counting)                      // registered first, still asked second
            .AddJobPolicy(o => o.Default.MaxCpus = 2));
        await engine.StartAsync();

        var ex = await Assert.ThrowsAsync<JobPolicyException>(() => engine.SubmitAsync(Job(s => s with { Nice = -1, Resources = new ResourceRequest { Cpus = 3 } })));
        Assert.Equal(["nice", "resources.cpus"], ex.Violations.Select(v => v.Field));
        Assert.Equal(0, counting.Calls);
        Assert.Empty(await engine.ListJobsAsync().ToListAsync());

        await engine.SubmitAsync(Job());
        Assert.Equal(1, counting.Calls);
    }

    private sealed class CountingCheck : IAdmissionCheck
    {
        public int Calls;
        public ValueTask<AdmissionResult> CheckAsync(AdmissionContext context, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref Calls);
            return ValueTask.FromResult(AdmissionResult.Admit());
        }
    }
}

using CompGrid.Slurm.Mapping;

namespace CompGrid.Slurm.Tests.Unit;

[Trait("Category", "Slurm")]
public sealed class MappingTests
{
    private static SlurmBackendOptions Options() => new()
    {
        OutputDirectory = "/shared/jobs/",
        DefaultPartition = "debug",
        GpuPartition = "gpu",
        PartitionMapping = { ["fast"] = "express" },
        AccountMapping = { ["GR-1"] = "physics" },
    };

    private static BackendJobRequest Request(JobSpec spec, TimeSpan? walltime = null) => new()
    {
        JobId = "cg-42",
        Spec = spec,
        MemoryMiBPerNode = 512,
        Walltime = walltime ?? TimeSpan.FromSeconds(90),
    };

    private static JobSpec Spec() => new() { Name = "my job \"1\"\n$(x)", Owner = "alice", Account = "GR-1", Payload = JobPayload.Command("echo hi") };

    [Fact]
    public void Map_TypicalJob_MapsResourcesAccountsAndPaths()
    {
        var job = SlurmJobMapper.Map(Request(Spec() with { Resources = new() { Cpus = 4, Nodes = 2, Gpus = 1, GpuModel = "a100" } }), Options());
        Assert.Equal("my_job__1____x_", job.Name);
        Assert.Equal("compgrid:cg-42", job.Comment);
        Assert.Equal("physics", job.Account);
        Assert.Equal("gpu", job.Partition); // a GPU job without a partition goes to the GPU partition
        Assert.Equal(2, job.Nodes);
        Assert.Equal(4, job.CpusPerTask);
        Assert.Equal(512, job.MemoryMiBPerNode);
        Assert.Equal("gpu:a100:1", job.Gres);
        Assert.Equal(2, job.TimeLimitMinutes); // 90 s rounds up to whole minutes
        Assert.Equal("/shared/jobs/compgrid-%j.out", job.StandardOutput);
        Assert.Equal("/shared/jobs/compgrid-%j.err", job.StandardError);
        Assert.Equal("/shared/jobs", job.WorkingDirectory);
        Assert.Contains("mkdir -p -- /shared/jobs/cg-42", job.Script, StringComparison.Ordinal);
        Assert.Equal("cg-42", job.Environment["COMPGRID_JOB_ID"]);

        var args = SlurmJobMapper.SbatchArguments(job);
        Assert.Contains("--parsable", args);
        Assert.Contains("--comment=compgrid:cg-42", args);
        Assert.Contains("--gres=gpu:a100:1", args);
        Assert.Contains("--mem=512M", args);
        Assert.Contains("--time=2", args);
        Assert.Contains("--nodes=2", args);
        Assert.Contains("--ntasks-per-node=1", args);
        Assert.Contains("--cpus-per-task=4", args);
        Assert.Contains("--account=physics", args);
        Assert.Contains("--partition=gpu", args);
    }

    [Fact]
    public void Map_PartitionMappingAndUnmappedAccount_PassThrough()
    {
        var job = SlurmJobMapper.Map(Request(Spec() with { Account = "lab7", Constraints = new() { Partition = "fast", Exclusive = true, RequiredFeatures = ["avx512", "ib"] } }), Options());
        Assert.Equal("express", job.Partition);
        Assert.Equal("lab7", job.Account);
        Assert.Equal("avx512&ib", job.Constraint);
        Assert.Contains("--exclusive", SlurmJobMapper.SbatchArguments(job));
    }

    [Fact]
    public void Map_WorkingDirectoryGiven_UsesItAndCreatesNoJobDirectory()
    {
        var job = SlurmJobMapper.Map(Request(Spec() with { WorkingDirectory = "/home/alice/run 1" }), Options());
        Assert.Equal("/home/alice/run 1", job.WorkingDirectory);
        Assert.DoesNotContain("mkdir", job.Script, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("environment.1BAD")]
    [InlineData("environment.SLURM_X")]
    public void Map_BadEnvironmentName_Rejected(string field)
    {
        string name = field["environment.".Length..];
        var ex = Assert.Throws<JobValidationException>(() => SlurmJobMapper.Map(Request(Spec() with { Environment = new Dictionary<string, string> { [name] = "v" } }), Options()));
        Assert.Contains(ex.Errors, e => e.Field == field);
    }

    [Fact]
    public void Map_InvalidValues_RejectedNamingEachField()
    {
        var spec = Spec() with
        {
            Account = "bad account",
            Qos = "a;b",
            Payload = JobPayload.Container("busybox"),
            WorkingDirectory = "relative",
            Constraints = new() { Partition = "p$(x)", ForbiddenFeatures = ["gpu"] },
            Resources = new() { Cpus = 0, Nodes = 0 },
        };
        var ex = Assert.Throws<JobValidationException>(() => SlurmJobMapper.Map(Request(spec) with { JobId = "bad id" }, Options()));
        string[] fields = ["jobId", "payload.kind", "resources.nodes", "resources.cpus", "constraints.partition", "account", "qos", "constraints.forbiddenFeatures", "workingDirectory"];
        foreach (string f in fields) Assert.Contains(ex.Errors, e => e.Field == f);
    }

    [Fact]
    public void Map_RestSubmittingAsOwner_MapsTheUser()
    {
        var options = Options();
        options.Transport = SlurmTransport.Rest;
        options.SubmitAsJobOwner = true;
        options.UserMapping["alice@uni.edu"] = "alice";
        Assert.Equal("alice", SlurmJobMapper.Map(Request(Spec() with { Owner = "alice@uni.edu" }), options).User);
        Assert.Throws<JobValidationException>(() => SlurmJobMapper.Map(Request(Spec() with { Owner = "bob smith" }), options));
    }

    [Fact]
    public void Map_SubmitAsJobOwner_OwnerWithoutMapping_IsRefusedNamingTheOwner()
    {
        var options = Options();
        options.Transport = SlurmTransport.Rest;
        options.SubmitAsJobOwner = true;
        options.UserMapping["alice@uni.edu"] = "alice";
        // "mallory" is a valid Slurm name, but the portal never said who she is on the cluster.
        var ex = Assert.Throws<JobValidationException>(() => SlurmJobMapper.Map(Request(Spec() with { Owner = "mallory" }), options));
        var error = Assert.Single(ex.Errors);
        Assert.Equal("owner", error.Field);
        Assert.Contains("UserMapping", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("root")]
    [InlineData("ROOT")]
    [InlineData("0")]
    [InlineData("000")]
    public void Map_SubmitAsJobOwner_MappingToRoot_IsRefused(string slurmUser)
    {
        var options = Options();
        options.Transport = SlurmTransport.Rest;
        options.SubmitAsJobOwner = true;
        options.UserMapping["alice"] = slurmUser; // changed after validation: the mapper refuses it again
        var ex = Assert.Throws<JobValidationException>(() => SlurmJobMapper.Map(Request(Spec() with { Owner = "alice" }), options));
        Assert.Contains(ex.Errors, e => e.Field == "owner" && e.Message.Contains("never submitted as root", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("compgrid:cg-1", "cg-1")]
    [InlineData("compgrid:cg-1 extra", "cg-1")]
    [InlineData("other", null)]
    [InlineData("compgrid:", null)]
    [InlineData(null, null)]
    public void ParseComment_ReadsTheCompGridId(string? comment, string? expected) => Assert.Equal(expected, SlurmJobMapper.ParseComment(comment));

    [Theory]
    [InlineData("123", true)]
    [InlineData("123_4", true)]
    [InlineData("12;rm", false)]
    [InlineData("-1", false)]
    [InlineData("", false)]
    public void IsValidBackendJobId_OnlyDigits(string id, bool valid) => Assert.Equal(valid, SlurmJobMapper.IsValidBackendJobId(id));
}

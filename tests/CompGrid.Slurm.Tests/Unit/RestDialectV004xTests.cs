using System.Text.Json;
using CompGrid.Slurm.Mapping;
using CompGrid.Slurm.Rest;

namespace CompGrid.Slurm.Tests.Unit;

/// <summary>
/// The v0.0.40+ dialects on responses recorded from the real Slurm 24.11.5 test cluster (trimmed to the fields read);
/// the cluster tests (Slurm2411*) prove the same against the live daemon.
/// </summary>
[Trait("Category", "Slurm")]
public sealed class RestDialectV004xTests
{
    private const string FailedJob = """
        {"jobs":[{"job_id":3,"job_state":["FAILED"],"state_reason":"NonZeroExitCode","nodes":"t2","comment":"compgrid:cg-1",
          "exit_code":{"status":["ERROR"],"return_code":{"set":true,"infinite":false,"number":3},"signal":{"id":{"set":false,"infinite":false,"number":0},"name":""}},
          "start_time":{"set":true,"infinite":false,"number":1796168003},"end_time":{"set":true,"infinite":false,"number":1796168004}}],"errors":[],"warnings":[]}
        """;

    private const string AccountedJob = """
        {"jobs":[{"job_id":1,"user":"cgtest","account":"physics","partition":"gpu","qos":"normal","nodes":"t1","allocation_nodes":1,
          "state":{"current":["FAILED"],"reason":"None"},"comment":{"administrator":"","job":"compgrid:cg-1","system":""},
          "exit_code":{"status":["ERROR"],"return_code":{"set":true,"infinite":false,"number":3},"signal":{"id":{"set":false,"infinite":false,"number":0},"name":""}},
          "time":{"elapsed":2,"end":1796168005,"start":1796168003,"total":{"seconds":0,"microseconds":0}},
          "tres":{"allocated":[{"type":"cpu","name":"","id":1,"count":1},{"type":"mem","name":"","id":2,"count":64},{"type":"energy","name":"","id":3,"count":-2},
            {"type":"node","name":"","id":4,"count":1},{"type":"billing","name":"","id":5,"count":1},{"type":"gres","name":"gpu","id":1001,"count":1}]},
          "steps":[{"time":{"total":{"seconds":0,"microseconds":24098}},"tres":{"requested":{"max":[{"type":"mem","name":"","id":2,"count":3956736,"task":0,"node":"t1"}]}}}]}],
         "errors":[],"warnings":[]}
        """;

    public static TheoryData<string> Versions => new() { "v0.0.40", "v0.0.41", "v0.0.42" };

    private static ISlurmRestDialect Dialect(string version) => SlurmRestDialects.Find(version)!;

    [Theory]
    [MemberData(nameof(Versions))]
    public void SubmitBody_PutsScriptInJob_EnvironmentAsList_LimitsAsSetNumbers(string version)
    {
        var body = Dialect(version).BuildSubmitBody(new SlurmJobDefinition
        {
            CompGridJobId = "cg-1", Name = "n", Script = "#!/bin/bash\ntrue\n", Comment = "compgrid:cg-1", Nodes = 2, MemoryMiBPerNode = 300,
            GpusPerNode = 1, TimeLimitMinutes = 5, Exclusive = true, WorkingDirectory = "/w", StandardOutput = "/w/o", StandardError = "/w/e",
            Environment = new Dictionary<string, string> { ["A"] = "1" },
        });
        Assert.Null(body["script"]);
        var job = body["job"]!.AsObject();
        Assert.Equal("#!/bin/bash\ntrue\n", (string?)job["script"]);
        Assert.Equal("A=1", (string?)job["environment"]![0]);
        Assert.Equal("2", (string?)job["nodes"]);
        Assert.Equal(5, (long?)job["time_limit"]!["number"]);
        Assert.True((bool?)job["memory_per_node"]!["set"]);
        Assert.Equal("gres/gpu:1", (string?)job["tres_per_node"]);
        Assert.Equal("none", (string?)job["shared"]![0]);
        Assert.Null(job["exclusive"]);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public void ParseJobs_ReadsStateListAndVerboseExitCode(string version)
    {
        using var doc = JsonDocument.Parse(FailedJob);
        var job = Assert.Single(Dialect(version).ParseJobs(doc.RootElement));
        Assert.Equal("FAILED", job.State);
        Assert.Equal(3, job.ExitCode);
        Assert.Null(job.Signal);
        Assert.Equal("cg-1", job.CompGridJobId);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1796168004), job.EndedAt);
    }

    [Fact]
    public void ParseJobs_SignalledJob_ReportsTheSignal()
    {
        using var doc = JsonDocument.Parse(FailedJob.Replace("\"FAILED\"", "\"CANCELLED\"", StringComparison.Ordinal)
            .Replace("\"id\":{\"set\":false,\"infinite\":false,\"number\":0}", "\"id\":{\"set\":true,\"infinite\":false,\"number\":9}", StringComparison.Ordinal));
        var job = Assert.Single(Dialect("v0.0.42").ParseJobs(doc.RootElement));
        Assert.Equal(9, job.Signal);
        Assert.Null(job.ExitCode);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public void ParseAccounting_TrustsExitCode_SkipsUntrackedTres_ReadsPeakMemory(string version)
    {
        using var doc = JsonDocument.Parse(AccountedJob);
        var record = Dialect(version).ParseAccounting(doc.RootElement, "1")!;
        Assert.Equal(3, record.ExitCode);
        Assert.Equal("physics", record.Account);
        Assert.Equal(1, record.AllocatedTres["gres/gpu"]);
        Assert.Equal(64, record.AllocatedTres["mem"]);
        Assert.False(record.AllocatedTres.ContainsKey("energy"));
        Assert.Equal(3956736, record.MaxRssBytes);
        Assert.Equal(TimeSpan.FromMicroseconds(24098), record.CpuTime);
        Assert.Equal("cg-1", record.ToUsage("b", "x").JobId);
    }

    [Fact]
    public void ParseAccounting_NothingFound_IsNull()
    {
        using var doc = JsonDocument.Parse("""{"jobs":[],"errors":[],"warnings":[{"description":"slurmdb_jobs_get(0x1) found nothing","source":"_dump_jobs"}]}""");
        Assert.Null(Dialect("v0.0.42").ParseAccounting(doc.RootElement, "9999"));
    }

    [Fact]
    public void V0042Cancel_ReportsPerJobOutcome_OlderVersionsNone()
    {
        using var doc = JsonDocument.Parse("""
            {"status":[{"error":{"string":"Invalid job id specified","code":2017,"message":"Invalid job id specified"},"step_id":"9999",
              "job_id":{"set":false,"infinite":false,"number":0}}],"errors":[],"warnings":[]}
            """);
        var errors = Dialect("v0.0.42").ParseCancelErrors(doc.RootElement);
        Assert.True(Dialect("v0.0.42").IsNotFound(200, errors));
        Assert.Empty(Dialect("v0.0.40").ParseCancelErrors(doc.RootElement));
        Assert.Empty(Dialect("v0.0.41").ParseCancelErrors(doc.RootElement));
    }

    [Fact]
    public void Supported_NewestFirst()
    {
        Assert.Equal(["v0.0.42", "v0.0.41", "v0.0.40", "v0.0.38"], SlurmRestDialects.Supported.Select(d => d.Version));
    }
}

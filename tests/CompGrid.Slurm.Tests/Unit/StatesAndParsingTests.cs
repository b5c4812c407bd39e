using System.Text.Json;
using CompGrid.Slurm.Cli;
using CompGrid.Slurm.Mapping;
using CompGrid.Slurm.Rest;

namespace CompGrid.Slurm.Tests.Unit;

[Trait("Category", "Slurm")]
public sealed class StatesAndParsingTests
{
    [Theory]
    [InlineData("PENDING", JobState.Queued)]
    [InlineData("REQUEUED", JobState.Queued)]
    [InlineData("CONFIGURING", JobState.Running)]
    [InlineData("RUNNING", JobState.Running)]
    [InlineData("COMPLETING", JobState.Running)]
    [InlineData("SUSPENDED", JobState.Running)]
    [InlineData("COMPLETED", JobState.Completed)]
    [InlineData("FAILED", JobState.Failed)]
    [InlineData("BOOT_FAIL", JobState.Failed)]
    [InlineData("DEADLINE", JobState.Failed)]
    [InlineData("CANCELLED", JobState.Cancelled)]
    [InlineData("CANCELLED by 1000", JobState.Cancelled)]
    [InlineData("TIMEOUT", JobState.TimedOut)]
    [InlineData("OUT_OF_MEMORY", JobState.OutOfMemory)]
    [InlineData("NODE_FAIL", JobState.NodeFailed)]
    [InlineData("PREEMPTED", JobState.Preempted)]
    [InlineData("CD", JobState.Completed)]
    [InlineData("to", JobState.TimedOut)]
    public void Map_SlurmState_GivesCompGridState(string native, JobState expected) => Assert.Equal(expected, SlurmStates.Map(native));

    [Theory]
    [InlineData(0, 0, null)]
    [InlineData(768, 3, null)]
    [InlineData(256, 1, null)]
    [InlineData(9, null, 9)]
    [InlineData(15, null, 15)]
    public void FromWaitStatus_DecodesExitAndSignal(long raw, int? exit, int? signal) => Assert.Equal((exit, signal), SlurmStates.FromWaitStatus(raw));

    [Theory]
    [InlineData("0:0", 0, null)]
    [InlineData("3:0", 3, null)]
    [InlineData("0:15", null, 15)]
    [InlineData("0:125", null, null)]
    [InlineData("", null, null)]
    public void FromCliExitCode_DecodesExitAndSignal(string text, int? exit, int? signal) => Assert.Equal((exit, signal), SlurmStates.FromCliExitCode(text));

    [Theory]
    [InlineData("n[1,3-4]", "n1,n3,n4")]
    [InlineData("gpu[01-03],login", "gpu01,gpu02,gpu03,login")]
    [InlineData("n1", "n1")]
    [InlineData("r[1-2]c[1-2]", "r1c1,r1c2,r2c1,r2c2")]
    [InlineData("", "")]
    [InlineData("(null)", "")]
    public void HostListExpand_Ranges(string list, string expected) => Assert.Equal(expected, string.Join(',', HostList.Expand(list)));

    [Fact]
    public void ParseTres_MemorySuffixesAndGres()
    {
        var t = SlurmText.ParseTres("billing=3,cpu=2,mem=1.5G,node=1,gres/gpu=2");
        Assert.Equal(3, t["billing"]);
        Assert.Equal(2, t["cpu"]);
        Assert.Equal(1536, t["mem"]);
        Assert.Equal(2, t["gres/gpu"]);
        Assert.Equal(300, SlurmText.ParseTres("mem=300M")["mem"]);
        Assert.Equal(300, SlurmText.ParseTres("mem=300")["mem"]);
    }

    [Theory]
    [InlineData("00:00.301", 0.301)]
    [InlineData("01:02:03", 3723)]
    [InlineData("1-00:00:01", 86401)]
    [InlineData("", 0)]
    public void ParseDuration_SacctForms(string text, double seconds) => Assert.Equal(seconds, SlurmText.ParseDuration(text).TotalSeconds, 3);

    [Fact]
    public void ParseScontrolJob_RealLine_ReadsStateExitTimesNodesComment()
    {
        const string line = "JobId=2 JobName=tt UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901758 Nice=0 Account=root QOS=normal JobState=FAILED Reason=NonZeroExitCode Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=3:0 RunTime=00:00:01 TimeLimit=UNLIMITED TimeMin=N/A SubmitTime=1795310999 EligibleTime=1795310999 AccrueTime=1795310999 StartTime=1795310999 EndTime=1795311000 Deadline=N/A Partition=debug NodeList=n[1-2] BatchHost=n1 NumNodes=2 Command=(null) WorkDir=/tmp/x Comment=compgrid:evil JobState=COMPLETED Comment=compgrid:t2  StdErr=/jobs/compgrid-2.err StdIn=/dev/null StdOut=/jobs/compgrid-2.out Power= ";
        var job = SlurmCliClient.ParseScontrolJob(line)!;
        Assert.Equal("2", job.JobId);
        Assert.Equal("FAILED", job.State);  // a spoofed JobState in the working directory is ignored
        Assert.Equal("t2", job.CompGridJobId); // the real comment is the last one
        Assert.Equal(3, job.ExitCode);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1795310999), job.StartedAt);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1795311000), job.EndedAt);
        var status = job.ToStatus();
        Assert.Equal(JobState.Failed, status.State);
        Assert.Equal(["n1", "n2"], status.Nodes);
        Assert.Equal("NonZeroExitCode", status.Reason);
    }

    [Fact]
    public void ParseScontrolJob_PendingJob_HasNoStartTime()
    {
        var job = SlurmCliClient.ParseScontrolJob("JobId=9 JobName=p UserId=a(1) JobState=PENDING Reason=Resources ExitCode=0:0 StartTime=1795399999 EndTime=1795403599 NodeList=(null) Comment=compgrid:cg-9")!;
        var status = job.ToStatus();
        Assert.Equal(JobState.Queued, status.State);
        Assert.Null(status.StartedAt);
        Assert.Null(status.EndedAt);
        Assert.Empty(status.Nodes);
        Assert.Equal("Resources", status.Reason);
    }

    [Theory]
    [InlineData("sbatch", "/opt/slurm/bin", "/opt/slurm/bin/sbatch")]
    [InlineData("tail", "/opt/slurm/bin", "tail")]
    [InlineData("sacct", null, "sacct")]
    public void SlurmCommands_BinDirectoryAppliesToSlurmCommandsOnly(string command, string? dir, string expected) =>
        Assert.Equal(expected, SlurmCommands.Resolve(command, dir));

    [Fact]
    public void ParseSqueue_Lines_ReadsJobsAndComments()
    {
        var jobs = SlurmCliClient.ParseSqueue("1|FAILED|NonZeroExitCode|1795310935|1795310935|n[1-2]|compgrid:x1\n2|PENDING|Resources|1795399999|NONE||(null)\n");
        Assert.Equal(2, jobs.Count);
        Assert.Equal("x1", jobs[0].CompGridJobId);
        Assert.Null(jobs[1].CompGridJobId);
        Assert.Null(jobs[1].StartedAt); // the expected start of a pending job is not a start
    }

    [Fact]
    public void ParseSacct_AllocationAndSteps_ReadsUsage()
    {
        const string output =
            "7|cgtest|physics|gpu|normal|COMPLETED|0:0|1795304619|1795304627|8|1|billing=2,cpu=2,gres/gpu=2,mem=300M,node=1|n2|00:00.301||compgrid:cg-7\n" +
            "7.batch|||||COMPLETED|0:0|1795304619|1795304627|8|1|cpu=2,mem=300M,node=1|n2|00:00.301|225107968|\n" +
            "7.extern|||||COMPLETED|0:0|1795304619|1795304627|8|1|billing=2,cpu=2,mem=300M,node=1|n2|00:00:00|1000|\n";
        var r = SlurmCliClient.ParseSacct(output, "7")!;
        var usage = r.ToUsage("campus", "");
        Assert.Equal("cg-7", usage.JobId);
        Assert.Equal("physics", usage.Account);
        Assert.Equal("cgtest", usage.User);
        Assert.Equal("gpu", usage.Partition);
        Assert.Equal(TimeSpan.FromSeconds(8), usage.Elapsed);
        Assert.Equal(2, usage.AllocatedCpus);
        Assert.Equal(300, usage.AllocatedMemoryMiB);
        Assert.Equal(2, usage.AllocatedGpus);
        Assert.Equal(1, usage.NodeCount);
        Assert.Equal(225107968, usage.PeakMemoryBytes);
        Assert.Equal(0, usage.ExitCode);
        Assert.Equal(JobState.Completed, usage.FinalState);
        Assert.Equal(2, usage.Tres["billing"]);
        Assert.Equal(0.301, usage.CpuTime.TotalSeconds, 3);
        Assert.Null(SlurmCliClient.ParseSacct(output, "8"));
    }

    [Fact]
    public void RestV0038_SubmitBody_HasTopLevelScriptDictionaryEnvironmentAndIntegerNodes()
    {
        var job = SlurmJobMapper.Map(new BackendJobRequest
        {
            JobId = "cg-9",
            Spec = new JobSpec { Owner = "a", Payload = JobPayload.Command("hostname"), Resources = new() { Nodes = 2, Gpus = 1 }, Environment = new Dictionary<string, string> { ["X"] = "1" } },
            MemoryMiBPerNode = 100,
            Walltime = TimeSpan.FromMinutes(3),
        }, new SlurmBackendOptions { OutputDirectory = "/jobs" });
        var body = JsonDocument.Parse(new RestDialectV0038().BuildSubmitBody(job).ToJsonString()).RootElement;
        Assert.StartsWith("#!/bin/bash", body.GetProperty("script").GetString(), StringComparison.Ordinal);
        var j = body.GetProperty("job");
        Assert.Equal(JsonValueKind.Object, j.GetProperty("environment").ValueKind);
        Assert.Equal("1", j.GetProperty("environment").GetProperty("X").GetString());
        Assert.Equal(2, j.GetProperty("nodes").GetInt32());
        Assert.Equal(3, j.GetProperty("time_limit").GetInt32());
        Assert.Equal(100, j.GetProperty("memory_per_node").GetInt32());
        Assert.Equal("gpu:1", j.GetProperty("gres").GetString());
        Assert.Equal("compgrid:cg-9", j.GetProperty("comment").GetString());
    }

    [Fact]
    public void RestV0038_ParseJobs_RawWaitStatusAndStringState()
    {
        using var doc = JsonDocument.Parse("""{"errors":[],"jobs":[{"job_id":3,"job_state":"FAILED","state_reason":"NonZeroExitCode","exit_code":768,"start_time":1795304619,"end_time":1795304621,"nodes":"n2","comment":"compgrid:cg-3"},{"job_id":4,"job_state":["PENDING"],"exit_code":0,"start_time":1795309999,"end_time":0,"nodes":"","comment":""}]}""");
        var jobs = new RestDialectV0038().ParseJobs(doc.RootElement);
        var s = jobs[0].ToStatus();
        Assert.Equal(JobState.Failed, s.State);
        Assert.Equal(3, s.ExitCode);
        Assert.Equal("cg-3", s.JobId);
        Assert.Equal(["n2"], s.Nodes);
        Assert.Equal(JobState.Queued, jobs[1].ToStatus().State);
        Assert.Null(jobs[1].StartedAt);
        Assert.Null(jobs[1].ExitCode);
    }

    [Fact]
    public void RestV0038_ParseAccounting_TrustsExitCodeOnlyForCompleted()
    {
        const string json = """
        {"errors":[],"jobs":[{"job_id":5,"user":"cgtest","account":"physics","partition":"gpu","qos":"normal","nodes":"n1","allocation_nodes":1,
          "state":{"current":"FAILED","reason":"None"},"exit_code":{"status":"SUCCESS","return_code":0},
          "time":{"elapsed":4,"start":1795304619,"end":1795304623,"total":{"seconds":0,"microseconds":0}},
          "tres":{"allocated":[{"type":"cpu","name":null,"count":2},{"type":"mem","name":null,"count":300},{"type":"gres","name":"gpu","count":1},{"type":"billing","name":null,"count":2},{"type":"energy","name":null,"count":null}]},
          "comment":{"job":"compgrid:cg-5"},
          "steps":[{"time":{"total":{"seconds":1,"microseconds":500000}},"tres":{"requested":{"max":[{"type":"mem","count":1048576}]}}}]}]}
        """;
        using var doc = JsonDocument.Parse(json);
        var r = new RestDialectV0038().ParseAccounting(doc.RootElement, "5")!;
        Assert.Null(r.ExitCode); // dbv0.0.38 says 0 for every exit
        var u = r.ToUsage("campus", "");
        Assert.Equal("cg-5", u.JobId);
        Assert.Equal(2, u.AllocatedCpus);
        Assert.Equal(300, u.AllocatedMemoryMiB);
        Assert.Equal(1, u.AllocatedGpus);
        Assert.Equal(1048576, u.PeakMemoryBytes);
        Assert.Equal(1.5, u.CpuTime.TotalSeconds, 3);
        Assert.Equal(TimeSpan.FromSeconds(4), u.Elapsed);
        Assert.Equal(JobState.Failed, u.FinalState);
    }

    [Fact]
    public void ParseNodes_V0038Json_ReadsCapacityFreeGpusPartitionsState()
    {
        const string json = """
        {"nodes":[{"name":"n1","state":"mixed","state_flags":[],"cpus":2,"alloc_cpus":1,"real_memory":4000,"alloc_memory":256,"gres":"gpu:2","gres_used":"gpu:1(IDX:0)","partitions":["debug","gpu"],"active_features":"ib,avx","reason":""},
                  {"name":"n2","state":"idle","state_flags":["DRAIN"],"cpus":2,"real_memory":4000,"gres":"gpu:a100:2(S:0)","partitions":["debug"],"reason":"maintenance"},
                  {"name":"n3","state":["DOWN","NOT_RESPONDING"],"cpus":{"set":true,"infinite":false,"number":4},"real_memory":1000,"partitions":"debug"}]}
        """;
        using var doc = JsonDocument.Parse(json);
        var nodes = SlurmJson.ParseNodes(doc.RootElement, "campus");
        Assert.Equal(new NodeResources(2, 4000, 2), nodes[0].Capacity);
        Assert.Equal(new NodeResources(1, 3744, 1), nodes[0].Free);
        Assert.Equal(["debug", "gpu"], nodes[0].Partitions);
        Assert.Equal(["ib", "avx"], nodes[0].Features);
        Assert.Equal(NodeState.Up, nodes[0].State);
        Assert.Equal(NodeState.Draining, nodes[1].State);
        Assert.Equal("a100", nodes[1].GpuModel);
        Assert.Equal("maintenance", nodes[1].Reason);
        Assert.Equal(NodeState.Down, nodes[2].State);
        Assert.Equal(4, nodes[2].Capacity.Cpus);
        Assert.All(nodes, n => Assert.Equal("campus", n.Backend));
    }
}

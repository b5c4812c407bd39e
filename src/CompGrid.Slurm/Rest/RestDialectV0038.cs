using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using CompGrid.Slurm.Mapping;

namespace CompGrid.Slurm.Rest;

/// <summary>
/// slurmrestd v0.0.38 / dbv0.0.38 (Slurm 22.05; also served by 23.02 and 23.11). Shapes verified on 22.05.8:
/// top-level <c>script</c>; <c>environment</c> an object and required; <c>nodes</c> an integer (the documented
/// <c>[min,max]</c> array is ignored); limits as integers (minutes, MiB); <c>job_state</c> a string; slurmctld's
/// <c>exit_code</c> a raw wait status; slurmdb's exit code wrong for every normal exit (reported as 0), so it is only
/// trusted for COMPLETED jobs.
/// </summary>
internal sealed class RestDialectV0038 : ISlurmRestDialect
{
    public string Version => "v0.0.38";
    public string PingPath => "/slurm/v0.0.38/ping";
    public string SubmitPath => "/slurm/v0.0.38/job/submit";
    public string JobsPath => "/slurm/v0.0.38/jobs";
    public string NodesPath => "/slurm/v0.0.38/nodes";
    public string JobPath(string jobId) => "/slurm/v0.0.38/job/" + Uri.EscapeDataString(jobId);
    public string AccountingJobPath(string jobId) => "/slurmdb/v0.0.38/job/" + Uri.EscapeDataString(jobId);

    public JsonObject BuildSubmitBody(SlurmJobDefinition job)
    {
        var env = new JsonObject();
        foreach (var (k, v) in job.Environment) env[k] = v;
        var j = new JsonObject
        {
            ["name"] = job.Name,
            ["comment"] = job.Comment,
            ["nodes"] = job.Nodes,
            ["tasks"] = job.Nodes,
            ["tasks_per_node"] = 1,
            ["cpus_per_task"] = job.CpusPerTask,
            ["time_limit"] = job.TimeLimitMinutes,
            ["current_working_directory"] = job.WorkingDirectory,
            ["standard_output"] = job.StandardOutput,
            ["standard_error"] = job.StandardError,
            ["environment"] = env,
        };
        if (job.MemoryMiBPerNode > 0) j["memory_per_node"] = job.MemoryMiBPerNode;
        if (job.Gres is { } gres) j["gres"] = gres;
        if (job.Account is { } account) j["account"] = account;
        if (job.Partition is { } partition) j["partition"] = partition;
        if (job.Qos is { } qos) j["qos"] = qos;
        if (job.Nice != 0) j["nice"] = job.Nice;
        if (job.Exclusive) j["exclusive"] = "true";
        if (job.Constraint is { } constraint) j["constraints"] = constraint;
        return new JsonObject { ["script"] = job.Script, ["job"] = j };
    }

    public string? ParseSubmittedJobId(JsonElement root) => root.Long("job_id")?.ToString(CultureInfo.InvariantCulture);

    public IReadOnlyList<SlurmJobInfo> ParseJobs(JsonElement root)
    {
        var result = new List<SlurmJobInfo>();
        if (root.Prop("jobs") is not { ValueKind: JsonValueKind.Array } jobs) return result;
        foreach (var j in jobs.EnumerateArray())
        {
            if (j.Long("job_id") is not { } id) continue;
            string state = j.State("job_state") ?? "UNKNOWN";
            var (exit, signal) = ReadExitCode(j.Prop("exit_code"));
            bool pending = SlurmStates.Map(state) == JobState.Queued;
            result.Add(new SlurmJobInfo
            {
                JobId = id.ToString(CultureInfo.InvariantCulture),
                State = state,
                Reason = j.Str("state_reason"),
                ExitCode = SlurmStates.Map(state).IsTerminal() ? exit : null,
                Signal = SlurmStates.Map(state).IsTerminal() ? signal : null,
                StartedAt = pending ? null : j.Time("start_time"),
                EndedAt = j.Time("end_time"),
                NodeList = j.Str("nodes"),
                Comment = RestShapes.Comment(j),
            });
        }
        return result;
    }

    private static (int? Exit, int? Signal) ReadExitCode(JsonElement? e)
    {
        if (e is not { } v) return (null, null);
        if (v.ValueKind == JsonValueKind.Object) return RestShapes.VerboseExitCode(v);
        return SlurmJson.AsLong(v) is { } raw ? SlurmStates.FromWaitStatus(raw) : (null, null);
    }

    public IReadOnlyList<NodeInfo> ParseNodes(JsonElement root, string backendName) => SlurmJson.ParseNodes(root, backendName);

    public SlurmAccountingRecord? ParseAccounting(JsonElement root, string jobId)
    {
        if (RestShapes.FindJob(root, jobId) is not { } job) return null;
        string state = job.State("state") ?? "UNKNOWN";
        // dbv0.0.38 reports every normal exit as return_code 0: trust it only for COMPLETED.
        int? exit = SlurmStates.Map(state) == JobState.Completed ? 0 : null;
        return RestShapes.Accounting(job, jobId, state, exit, null);
    }

    public IReadOnlyList<RestError> ParseCancelErrors(JsonElement root) => [];

    public bool IsNotFound(int httpStatus, IReadOnlyList<RestError> errors) =>
        httpStatus == 404 ||
        errors.Any(e => e.Number is 2017 or 9003 ||
                        (e.Description ?? e.Error ?? "").Contains("Invalid job id", StringComparison.OrdinalIgnoreCase) ||
                        (e.Description ?? "").Contains("Nothing found", StringComparison.OrdinalIgnoreCase));
}

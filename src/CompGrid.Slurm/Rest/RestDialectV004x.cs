using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using CompGrid.Slurm.Mapping;

namespace CompGrid.Slurm.Rest;

/// <summary>
/// What slurmrestd v0.0.40, v0.0.41 and v0.0.42 (Slurm 23.11 to 25.05) share, checked against the <c>/openapi/v3</c>
/// document and real responses of Slurm 24.11.5: the paths; <c>script</c> inside the job description;
/// <c>environment</c> a list of <c>NAME=value</c> (required); <c>nodes</c> a count string; limits as
/// <c>{set, infinite, number}</c>; GPUs as <c>tres_per_node</c>; exclusive as <c>shared: ["none"]</c>; job and node
/// states as lists of flags; exit codes as <c>{status, return_code, signal}</c>, right in slurmdb too. Each version is
/// a sealed subclass that states only where it differs.
/// </summary>
internal abstract class RestDialectV004x : ISlurmRestDialect
{
    public abstract string Version { get; }

    public string PingPath => $"/slurm/{Version}/ping";
    public string SubmitPath => $"/slurm/{Version}/job/submit";
    public string JobsPath => $"/slurm/{Version}/jobs";
    public string NodesPath => $"/slurm/{Version}/nodes";
    public string JobPath(string jobId) => $"/slurm/{Version}/job/" + Uri.EscapeDataString(jobId);
    public string AccountingJobPath(string jobId) => $"/slurmdb/{Version}/job/" + Uri.EscapeDataString(jobId);

    public JsonObject BuildSubmitBody(SlurmJobDefinition job)
    {
        var env = new JsonArray();
        foreach (var (k, v) in job.Environment) env.Add($"{k}={v}");
        // An empty environment fails the submission ("I/O error writing script/environment to file", 2019).
        if (env.Count == 0) env.Add("PATH=/usr/bin:/bin");
        var j = new JsonObject
        {
            ["script"] = job.Script,
            ["name"] = job.Name,
            ["comment"] = job.Comment,
            ["nodes"] = job.Nodes.ToString(CultureInfo.InvariantCulture),
            ["tasks"] = job.Nodes,
            ["tasks_per_node"] = 1,
            ["cpus_per_task"] = job.CpusPerTask,
            ["current_working_directory"] = job.WorkingDirectory,
            ["standard_output"] = job.StandardOutput,
            ["standard_error"] = job.StandardError,
            ["environment"] = env,
        };
        if (job.TimeLimitMinutes > 0) j["time_limit"] = Number(job.TimeLimitMinutes);
        if (job.MemoryMiBPerNode > 0) j["memory_per_node"] = Number(job.MemoryMiBPerNode);
        if (job.Gres is { } gres) j["tres_per_node"] = "gres/" + gres;
        if (job.Account is { } account) j["account"] = account;
        if (job.Partition is { } partition) j["partition"] = partition;
        if (job.Qos is { } qos) j["qos"] = qos;
        if (job.Nice != 0) j["nice"] = job.Nice;
        if (job.Exclusive) j["shared"] = new JsonArray("none");
        if (job.Constraint is { } constraint) j["constraints"] = constraint;
        return new JsonObject { ["job"] = j };
    }

    /// <summary>A set number in the <c>{set, infinite, number}</c> shape.</summary>
    protected static JsonObject Number(long value) => new() { ["set"] = true, ["infinite"] = false, ["number"] = value };

    public virtual string? ParseSubmittedJobId(JsonElement root) => root.Long("job_id")?.ToString(CultureInfo.InvariantCulture);

    public IReadOnlyList<SlurmJobInfo> ParseJobs(JsonElement root)
    {
        var result = new List<SlurmJobInfo>();
        if (root.Prop("jobs") is not { ValueKind: JsonValueKind.Array } jobs) return result;
        foreach (var j in jobs.EnumerateArray())
        {
            if (j.Long("job_id") is not { } id) continue;
            string state = j.State("job_state") ?? "UNKNOWN";
            var mapped = SlurmStates.Map(state);
            var (exit, signal) = mapped.IsTerminal() ? RestShapes.VerboseExitCode(j.Prop("exit_code")) : (null, null);
            result.Add(new SlurmJobInfo
            {
                JobId = id.ToString(CultureInfo.InvariantCulture),
                State = state,
                Reason = j.Str("state_reason"),
                ExitCode = exit,
                Signal = signal,
                StartedAt = mapped == JobState.Queued ? null : j.Time("start_time"),
                EndedAt = j.Time("end_time"),
                NodeList = RestShapes.NonEmpty(j.Str("nodes")),
                Comment = RestShapes.Comment(j),
            });
        }
        return result;
    }

    public IReadOnlyList<NodeInfo> ParseNodes(JsonElement root, string backendName) => SlurmJson.ParseNodes(root, backendName);

    public SlurmAccountingRecord? ParseAccounting(JsonElement root, string jobId)
    {
        if (RestShapes.FindJob(root, jobId) is not { } job) return null;
        string state = job.State("state") ?? "UNKNOWN";
        var (exit, signal) = RestShapes.VerboseExitCode(job.Prop("exit_code"));
        return RestShapes.Accounting(job, jobId, state, exit, signal);
    }

    public virtual IReadOnlyList<RestError> ParseCancelErrors(JsonElement root) => [];

    // slurmctld: 404 with 2017 for an unknown job; slurmdb: HTTP 200, no jobs and a warning "... found nothing".
    public bool IsNotFound(int httpStatus, IReadOnlyList<RestError> errors) =>
        httpStatus == 404 ||
        errors.Any(e => e.Number is 2017 || (e.Description ?? e.Error ?? "").Contains("Invalid job id", StringComparison.OrdinalIgnoreCase));
}

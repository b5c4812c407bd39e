using System.Globalization;
using System.Text.Json;
using CompGrid.Slurm.Mapping;

namespace CompGrid.Slurm.Rest;

/// <summary>
/// The response parts every slurmrestd version shares (v0.0.38 to v0.0.42): the slurmdb job record, its TRES list,
/// its steps' CPU time and peak memory, the jobs array of slurmctld. A dialect passes what differs (its exit code).
/// </summary>
internal static class RestShapes
{
    /// <summary>The last record of <paramref name="jobId"/> in a <c>jobs</c> array (a requeued job has several), or null.</summary>
    public static JsonElement? FindJob(JsonElement root, string jobId)
    {
        if (root.Prop("jobs") is not { ValueKind: JsonValueKind.Array } jobs) return null;
        JsonElement? match = null;
        foreach (var j in jobs.EnumerateArray())
            if (j.Long("job_id")?.ToString(CultureInfo.InvariantCulture) == jobId) match = j;
        return match;
    }

    /// <summary>
    /// A slurmdb job record with the exit code and signal the dialect read from it (its shape differs by version).
    /// TRES counts are MiB for memory; the steps' <c>tres.requested.max</c> memory is bytes (peak RSS).
    /// </summary>
    public static SlurmAccountingRecord Accounting(JsonElement job, string jobId, string state, int? exitCode, int? signal)
    {
        var time = job.Prop("time");
        var tres = new Dictionary<string, decimal>(StringComparer.Ordinal);
        if (job.Prop("tres") is { } t && t.Prop("allocated") is { ValueKind: JsonValueKind.Array } allocated)
        {
            foreach (var item in allocated.EnumerateArray())
            {
                string? type = item.Str("type");
                // Counts Slurm does not track come back negative (energy: -2 in 24.11) or null (22.05).
                if (type is null || item.Long("count") is not { } count || count < 0) continue;
                string name = item.Str("name") is { Length: > 0 } n ? $"{type}/{n}" : type;
                tres[name.ToLowerInvariant()] = count;
            }
        }
        long? maxRss = null;
        TimeSpan cpu = time is { } tm ? Seconds(tm.Prop("total")) : TimeSpan.Zero;
        TimeSpan stepCpu = TimeSpan.Zero;
        if (job.Prop("steps") is { ValueKind: JsonValueKind.Array } steps)
        {
            foreach (var step in steps.EnumerateArray())
            {
                if (step.Prop("time") is { } st) stepCpu += Seconds(st.Prop("total"));
                if (step.Prop("tres") is { } stres && stres.Prop("requested") is { } req && req.Prop("max") is { ValueKind: JsonValueKind.Array } max)
                    foreach (var item in max.EnumerateArray())
                        if (item.Str("type") == "mem" && item.Long("count") is { } bytes) maxRss = Math.Max(maxRss ?? 0, bytes);
            }
        }
        return new SlurmAccountingRecord
        {
            JobId = jobId,
            State = state,
            User = NonEmpty(job.Str("user")),
            Account = NonEmpty(job.Str("account")),
            Partition = NonEmpty(job.Str("partition")),
            Qos = NonEmpty(job.Str("qos")),
            NodeList = NonEmpty(job.Str("nodes")),
            NodeCount = (int)(job.Long("allocation_nodes") ?? 0),
            StartedAt = time?.Time("start"),
            EndedAt = time?.Time("end"),
            ElapsedSeconds = time?.Long("elapsed") ?? 0,
            ExitCode = exitCode,
            Signal = signal,
            CpuTime = cpu > TimeSpan.Zero ? cpu : stepCpu,
            MaxRssBytes = maxRss,
            AllocatedTres = tres,
            Comment = Comment(job),
        };
    }

    /// <summary>The job's comment: a string (slurmctld) or <c>{administrator, job, system}</c> (slurmdb).</summary>
    public static string? Comment(JsonElement job) =>
        NonEmpty(job.Prop("comment") is { ValueKind: JsonValueKind.Object } c ? c.Str("job") : job.Str("comment"));

    /// <summary>A <c>process_exit_code_verbose</c> (v0.0.40+): the return code, or the signal that ended the job.</summary>
    public static (int? Exit, int? Signal) VerboseExitCode(JsonElement? e)
    {
        if (e is not { ValueKind: JsonValueKind.Object } v) return (null, null);
        long? sig = v.Prop("signal") is { } s ? s.Long("id") : null;
        if (sig is > 0) return (null, (int)sig);
        return ((int?)v.Long("return_code"), null);
    }

    public static string? NonEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    private static TimeSpan Seconds(JsonElement? e) =>
        e is { } v ? TimeSpan.FromSeconds(v.Long("seconds") ?? 0) + TimeSpan.FromMicroseconds(v.Long("microseconds") ?? 0) : TimeSpan.Zero;
}

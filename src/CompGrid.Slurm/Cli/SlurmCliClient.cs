using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using CompGrid.Slurm.Logs;
using CompGrid.Slurm.Mapping;

namespace CompGrid.Slurm.Cli;

/// <summary>
/// The Slurm CLI transport: <c>sbatch --parsable</c> (script on stdin), <c>scontrol show job -o</c>, <c>squeue</c>,
/// <c>scancel</c>, <c>sinfo --json</c> and <c>sacct -P</c>, run locally or over SSH by an <see cref="ICommandRunner"/>.
/// </summary>
internal sealed partial class SlurmCliClient(ICommandRunner runner, string backend, bool readLogsLocally) : ISlurmClient
{
    // Set once sinfo --json turned out to group nodes (data_parser v0.0.40+): nodes then come from scontrol.
    private volatile bool _nodesFromScontrol;

    private const string SacctFields = "JobIDRaw,User,Account,Partition,QOS,State,ExitCode,Start,End,ElapsedRaw,NNodes,AllocTRES,NodeList,TotalCPU,MaxRSS,Comment";

    public async Task<string> SubmitAsync(SlurmJobDefinition job, CancellationToken cancellationToken)
    {
        var result = await runner.RunAsync("sbatch", SlurmJobMapper.SbatchArguments(job), job.Script, cancellationToken).ConfigureAwait(false);
        if (!result.Success) throw SlurmErrors.FromCli(result, backend, "submit", job.CompGridJobId, runner.Location);
        string id = result.Stdout.Trim().Split(';')[0].Trim();
        if (!SlurmJobMapper.IsValidBackendJobId(id))
            throw new CompGridException($"sbatch printed no job id: '{Trim(result.Stdout)}' {Trim(result.Stderr)}")
            { Backend = backend, Operation = "submit", JobId = job.CompGridJobId, Code = CompGridErrorCodes.UnexpectedOutput };
        return id;
    }

    public async Task<SlurmJobInfo?> GetJobAsync(string jobId, CancellationToken cancellationToken)
    {
        var result = await runner.RunAsync("scontrol", ["show", "job", "-o", jobId], null, cancellationToken).ConfigureAwait(false);
        if (!result.Success)
        {
            if (SlurmErrors.IsInvalidJobId(result.Stderr)) return null;
            throw SlurmErrors.FromCli(result, backend, "status", null, runner.Location);
        }
        return ParseScontrolJob(result.Stdout);
    }

    /// <summary>Parses one <c>scontrol show job -o</c> line. Job names are sanitised at submission, so key lookups cannot be spoofed by them.</summary>
    internal static SlurmJobInfo? ParseScontrolJob(string line)
    {
        line = line.Trim();
        if (line.Length == 0) return null;
        string? First(string key)
        {
            var m = Regex.Match(line, "(?:^|\\s)" + Regex.Escape(key) + "=(\\S*)", RegexOptions.CultureInvariant);
            return m.Success ? m.Groups[1].Value : null;
        }
        string? id = First("JobId");
        string? state = First("JobState");
        if (id is null || state is null) return null;
        // Comment comes after WorkDir (which may hold spaces): take the last occurrence.
        var comments = CommentRegex().Matches(line);
        string? comment = comments.Count > 0 ? comments[^1].Groups[1].Value : null;
        var (exit, signal) = SlurmStates.FromCliExitCode(First("ExitCode"));
        return new SlurmJobInfo
        {
            JobId = id,
            State = state,
            Reason = First("Reason"),
            ExitCode = exit,
            Signal = signal,
            StartedAt = SlurmText.ParseEpoch(First("StartTime")),
            EndedAt = SlurmText.ParseEpoch(First("EndTime")),
            NodeList = First("NodeList"),
            Comment = comment is "(null)" ? null : comment,
        };
    }

    public async Task<IReadOnlyList<SlurmJobInfo>> ListJobsAsync(CancellationToken cancellationToken)
    {
        var result = await runner.RunAsync("squeue", ["-h", "-a", "-t", "all", "-o", "%i|%T|%r|%S|%e|%N|%k"], null, cancellationToken).ConfigureAwait(false);
        if (!result.Success) throw SlurmErrors.FromCli(result, backend, "list", null, runner.Location);
        var jobs = ParseSqueue(result.Stdout);
        // squeue has no exit code in 22.05's text output: fill it in for ended CompGrid jobs from sacct in one call.
        var ended = jobs.Where(j => j.CompGridJobId is not null && SlurmStates.Map(j.State).IsTerminal()).Select(j => j.JobId).ToList();
        if (ended.Count == 0) return jobs;
        var acct = await runner.RunAsync("sacct", ["-n", "-P", "-X", "-j", string.Join(',', ended), "-o", "JobIDRaw,ExitCode"], null, cancellationToken).ConfigureAwait(false);
        if (!acct.Success) return jobs;
        var codes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string l in acct.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = l.Split('|');
            if (parts.Length >= 2) codes[parts[0]] = parts[1];
        }
        return jobs.Select(j =>
        {
            if (!codes.TryGetValue(j.JobId, out string? code)) return j;
            var (exit, signal) = SlurmStates.FromCliExitCode(code);
            return j with { ExitCode = exit, Signal = signal };
        }).ToList();
    }

    internal static List<SlurmJobInfo> ParseSqueue(string output)
    {
        var jobs = new List<SlurmJobInfo>();
        foreach (string raw in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var p = raw.TrimEnd('\r').Split('|', 7);
            if (p.Length < 7 || !SlurmJobMapper.IsValidBackendJobId(p[0].Trim())) continue;
            bool pending = SlurmStates.Map(p[1]) == JobState.Queued;
            jobs.Add(new SlurmJobInfo
            {
                JobId = p[0].Trim(),
                State = p[1].Trim(),
                Reason = p[2].Trim(),
                StartedAt = pending ? null : SlurmText.ParseEpoch(p[3].Trim()),
                EndedAt = SlurmText.ParseEpoch(p[4].Trim()),
                NodeList = p[5].Trim(),
                Comment = p[6].Trim() is { Length: > 0 } c && c != "(null)" ? c : null,
            });
        }
        return jobs;
    }

    public async Task CancelAsync(string jobId, CancellationToken cancellationToken)
    {
        var result = await runner.RunAsync("scancel", [jobId], null, cancellationToken).ConfigureAwait(false);
        if (result.Success || SlurmErrors.IsAlreadyEnded(result.Stderr)) return;
        if (SlurmErrors.IsInvalidJobId(result.Stderr)) throw new JobNotFoundException(jobId) { Backend = backend, Operation = "cancel" };
        throw SlurmErrors.FromCli(result, backend, "cancel", null, runner.Location);
    }

    public async Task<IReadOnlyList<NodeInfo>> GetNodesAsync(string backendName, CancellationToken cancellationToken)
    {
        // sinfo --json lists nodes up to data_parser v0.0.39 (Slurm 22.05, 23.02); from v0.0.40 (23.11+) it prints
        // partition/state groups ("sinfo": [...]) instead, and `scontrol --json show nodes` (absent in 22.05) gives
        // the per-node records, in the same shape as slurmrestd's /nodes.
        if (!_nodesFromScontrol)
        {
            using var sinfo = await RunJsonAsync("sinfo", ["--json"], cancellationToken).ConfigureAwait(false);
            if (sinfo.RootElement.Prop("sinfo") is null) return SlurmJson.ParseNodes(sinfo.RootElement, backendName);
            _nodesFromScontrol = true;
        }
        using var scontrol = await RunJsonAsync("scontrol", ["--json", "show", "nodes"], cancellationToken).ConfigureAwait(false);
        return SlurmJson.ParseNodes(scontrol.RootElement, backendName);
    }

    private async Task<JsonDocument> RunJsonAsync(string command, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var result = await runner.RunAsync(command, args, null, cancellationToken).ConfigureAwait(false);
        if (!result.Success) throw SlurmErrors.FromCli(result, backend, "nodes", null, runner.Location);
        try
        {
            return JsonDocument.Parse(result.Stdout);
        }
        catch (JsonException ex)
        {
            throw new CompGridException($"{command} {string.Join(' ', args)} printed invalid JSON: " + ex.Message, ex)
            { Backend = backend, Operation = "nodes", Code = CompGridErrorCodes.UnexpectedOutput };
        }
    }

    public async Task<SlurmAccountingRecord?> GetAccountingAsync(string jobId, CancellationToken cancellationToken)
    {
        var result = await runner.RunAsync("sacct", ["-n", "-P", "--noconvert", "-j", jobId, "-o", SacctFields], null, cancellationToken).ConfigureAwait(false);
        if (!result.Success) throw SlurmErrors.FromCli(result, backend, "accounting", null, runner.Location);
        return ParseSacct(result.Stdout, jobId);
    }

    /// <summary>Parses <c>sacct -n -P --noconvert -o <see cref="SacctFields"/></c> output: the allocation line plus its steps (for MaxRSS).</summary>
    internal static SlurmAccountingRecord? ParseSacct(string output, string jobId)
    {
        SlurmAccountingRecord? record = null;
        long? maxRss = null;
        TimeSpan stepCpu = TimeSpan.Zero;
        foreach (string raw in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var p = raw.TrimEnd('\r').Split('|', 16);
            if (p.Length < 16) continue;
            string id = p[0];
            if (id == jobId)
            {
                var (exit, signal) = SlurmStates.FromCliExitCode(p[6]);
                record = new SlurmAccountingRecord
                {
                    JobId = id,
                    User = NullIfEmpty(p[1]),
                    Account = NullIfEmpty(p[2]),
                    Partition = NullIfEmpty(p[3]),
                    Qos = NullIfEmpty(p[4]),
                    State = p[5],
                    ExitCode = exit,
                    Signal = signal,
                    StartedAt = SlurmText.ParseEpoch(p[7]),
                    EndedAt = SlurmText.ParseEpoch(p[8]),
                    ElapsedSeconds = SlurmText.ParseLong(p[9]) ?? 0,
                    NodeCount = (int)(SlurmText.ParseLong(p[10]) ?? 0),
                    AllocatedTres = SlurmText.ParseTres(p[11]),
                    NodeList = NullIfEmpty(p[12]),
                    CpuTime = SlurmText.ParseDuration(p[13]),
                    Comment = NullIfEmpty(p[15]),
                };
            }
            else if (id.StartsWith(jobId + ".", StringComparison.Ordinal))
            {
                if (SlurmText.ParseSize(p[14], 'B') is { } rss) maxRss = Math.Max(maxRss ?? 0, (long)rss);
                stepCpu += SlurmText.ParseDuration(p[13]);
            }
        }
        if (record is null) return null;
        return record with
        {
            MaxRssBytes = maxRss,
            CpuTime = record.CpuTime > TimeSpan.Zero ? record.CpuTime : stepCpu,
        };
    }

    public Task<(string Text, bool Truncated)?> ReadLogTailAsync(string directory, string fileName, int maxBytes, CancellationToken cancellationToken) =>
        readLogsLocally
            ? LocalLogFile.ReadTailAsync(directory, fileName, maxBytes, backend, cancellationToken)
            : RemoteLogFile.ReadTailAsync(runner, directory, fileName, maxBytes, backend, cancellationToken);

    public ValueTask DisposeAsync() => runner.DisposeAsync();

    private static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;

    private static string Trim(string s) => s.Length > 300 ? s[..300] + "…" : s.Trim();

    [GeneratedRegex("(?:^|\\s)Comment=(\\S*)", RegexOptions.CultureInvariant)]
    private static partial Regex CommentRegex();
}

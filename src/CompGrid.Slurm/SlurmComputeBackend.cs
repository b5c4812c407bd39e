using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using CompGrid.Slurm.Mapping;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;

namespace CompGrid.Slurm;

/// <summary>
/// The Slurm backend: Slurm places jobs itself; CompGrid submits them tagged with the CompGrid job id in the job comment,
/// tracks them through slurmctld (and slurmdbd once slurmctld has purged them), reads their output files and imports
/// their accounting. Every cluster call goes through the cluster's resilience pipeline.
/// </summary>
internal sealed class SlurmComputeBackend : IComputeBackend, IAsyncDisposable, IDisposable
{
    private const int MaxCachedStatuses = 10_000;
    private readonly SlurmBackendOptions _options;
    private readonly ISlurmClient _client;
    private readonly ResiliencePipeline _pipeline;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    // Terminal statuses seen from slurmctld: they keep exact exit codes after slurmctld purges the job (22.05's REST
    // accounting reports 0 for every exit).
    private readonly ConcurrentDictionary<string, BackendJobStatus> _ended = new(StringComparer.Ordinal);

    public SlurmComputeBackend(string name, SlurmBackendOptions options, ISlurmClient client, ResiliencePipeline pipeline, TimeProvider time, ILogger logger)
    {
        Name = name;
        _options = options;
        _client = client;
        _pipeline = pipeline;
        _time = time;
        _logger = logger;
    }

    public string Name { get; }

    public BackendCapabilities Capabilities { get; } = new()
    {
        PlacesJobsItself = true,
        Containers = false,
        Gpus = true,
        MultiNode = true,
        LogStreaming = true,
        PushesEvents = false,
        Payloads = [PayloadKind.CommandLine, PayloadKind.Script, PayloadKind.Executable],
    };

    public async Task<string> SubmitAsync(BackendJobRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        // Slurm runs on the cluster's own filesystem: refuse staging lists instead of dropping them (the job is Rejected).
        if (request.Spec.Inputs.Count > 0 || request.Spec.Outputs.Count > 0)
            throw new CompGridException($"inputs/outputs: the Slurm backend '{Name}' does not stage files; put them on the cluster's filesystem and drop the staging lists.")
            { Backend = Name, Operation = "submit", JobId = request.JobId, Code = CompGridErrorCodes.StagingUnsupported };
        var job = SlurmJobMapper.Map(request, _options);
        int attempt = 0;
        string id = await ExecuteAsync(async ct =>
        {
            // A retry after an ambiguous failure (timeout, controller restart) first looks for the job: it may exist.
            if (Interlocked.Increment(ref attempt) > 1 && await FindByCompGridIdAsync(job.CompGridJobId, ct).ConfigureAwait(false) is { } existing)
            {
                Log.FoundExisting(_logger, Name, job.CompGridJobId, existing);
                return existing;
            }
            return await _client.SubmitAsync(job, ct).ConfigureAwait(false);
        }, "submit", request.JobId, cancellationToken).ConfigureAwait(false);
        Log.Submitted(_logger, Name, request.JobId, id);
        return id;
    }

    private async Task<string?> FindByCompGridIdAsync(string compGridJobId, CancellationToken cancellationToken)
    {
        var jobs = await _client.ListJobsAsync(cancellationToken).ConfigureAwait(false);
        return jobs.Where(j => j.CompGridJobId == compGridJobId).Select(j => j.JobId).LastOrDefault();
    }

    public async Task<BackendJobStatus?> GetStatusAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        if (!SlurmJobMapper.IsValidBackendJobId(backendJobId)) return null;
        var live = await ExecuteAsync(ct => _client.GetJobAsync(backendJobId, ct), "status", null, cancellationToken).ConfigureAwait(false);
        if (live is not null)
        {
            var status = live.ToStatus();
            if (status.State.IsTerminal()) Remember(status);
            return status;
        }
        if (_ended.TryGetValue(backendJobId, out var cached)) return cached;
        // slurmctld purged it (MinJobAge) or never knew it: ask accounting.
        var acct = await ExecuteAsync(ct => _client.GetAccountingAsync(backendJobId, ct), "status", null, cancellationToken).ConfigureAwait(false);
        if (acct is null) return null;
        var state = SlurmStates.Map(acct.State);
        return new BackendJobStatus
        {
            BackendJobId = backendJobId,
            JobId = SlurmJobMapper.ParseComment(acct.Comment),
            State = state,
            NativeState = acct.State,
            ExitCode = acct.ExitCode,
            Signal = acct.Signal,
            StartedAt = acct.StartedAt,
            EndedAt = state.IsTerminal() ? acct.EndedAt : null,
            Nodes = HostList.Expand(acct.NodeList),
        };
    }

    private void Remember(BackendJobStatus status)
    {
        if (_ended.Count >= MaxCachedStatuses) _ended.Clear();
        _ended[status.BackendJobId] = status;
    }

    public async Task CancelAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        var status = await GetStatusAsync(backendJobId, cancellationToken).ConfigureAwait(false)
            ?? throw new JobNotFoundException(backendJobId) { Backend = Name, Operation = "cancel" };
        if (status.State.IsTerminal()) return;
        await ExecuteAsync(async ct =>
        {
            await _client.CancelAsync(backendJobId, ct).ConfigureAwait(false);
            return true;
        }, "cancel", status.JobId, cancellationToken).ConfigureAwait(false);
        Log.Cancelled(_logger, Name, backendJobId);
    }

    public async IAsyncEnumerable<BackendJobStatus> ListJobsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var jobs = await ExecuteAsync(ct => _client.ListJobsAsync(ct), "list", null, cancellationToken).ConfigureAwait(false);
        foreach (var job in jobs)
        {
            if (job.CompGridJobId is null) continue;
            var status = job.ToStatus();
            if (status.State.IsTerminal() && status.ExitCode is null && _ended.TryGetValue(job.JobId, out var cached)) status = cached;
            yield return status;
        }
    }

    public async Task<JobLogs> GetLogsAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        _ = await GetStatusAsync(backendJobId, cancellationToken).ConfigureAwait(false)
            ?? throw new JobNotFoundException(backendJobId) { Backend = Name, Operation = "logs" };
        string dir = _options.OutputDirectory!.TrimEnd('/');
        (string Text, bool Truncated)? stdout, stderr;
        try
        {
            stdout = await ExecuteAsync(ct => _client.ReadLogTailAsync(dir, SlurmJobMapper.OutputFileName(backendJobId, false), _options.MaxLogBytes, ct),
                "logs", null, cancellationToken).ConfigureAwait(false);
            stderr = await ExecuteAsync(ct => _client.ReadLogTailAsync(dir, SlurmJobMapper.OutputFileName(backendJobId, true), _options.MaxLogBytes, ct),
                "logs", null, cancellationToken).ConfigureAwait(false);
        }
        catch (CompGridException ex) when (ex.Code == "unsafe-log-file")
        {
            // A job tampering with its own output is worth an operator's look.
            Log.LogFileRefused(_logger, Name, backendJobId, ex.Message);
            throw;
        }
        return new JobLogs
        {
            StandardOutput = stdout?.Text ?? "",
            StandardError = stderr?.Text ?? "",
            Truncated = (stdout?.Truncated ?? false) || (stderr?.Truncated ?? false),
        };
    }

    public Task<IReadOnlyList<NodeInfo>> GetNodesAsync(CancellationToken cancellationToken = default) =>
        ExecuteAsync(ct => _client.GetNodesAsync(Name, ct), "nodes", null, cancellationToken);

    public async Task<UsageRecord?> GetUsageAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        if (!SlurmJobMapper.IsValidBackendJobId(backendJobId)) throw new JobNotFoundException(backendJobId) { Backend = Name, Operation = "usage" };
        // slurmdbd receives the record a moment after the job ends: wait for it (bounded).
        long started = _time.GetTimestamp();
        SlurmAccountingRecord? acct;
        while (true)
        {
            acct = await ExecuteAsync(ct => _client.GetAccountingAsync(backendJobId, ct), "usage", null, cancellationToken).ConfigureAwait(false);
            // slurmdbd fills some fields (the partition) a few seconds after the end record: wait for a complete one.
            if (acct is { HasEnded: true, Partition: not null }) break;
            if (acct is null && await GetStatusAsync(backendJobId, cancellationToken).ConfigureAwait(false) is null)
                throw new JobNotFoundException(backendJobId) { Backend = Name, Operation = "usage" };
            var waited = _time.GetElapsedTime(started);
            if (acct is { HasEnded: true } && waited >= TimeSpan.FromSeconds(10)) break; // complete enough; don't hold the caller
            if (waited >= _options.AccountingWait)
            {
                if (acct is { HasEnded: true }) break;
                throw new CompGridException($"Slurm accounting has no final record of job {backendJobId} yet (state {acct?.State ?? "none"}); retry later.")
                { Backend = Name, Operation = "usage", IsTransient = true, Code = CompGridErrorCodes.AccountingPending };
            }
            await Task.Delay(_options.AccountingPollInterval, _time, cancellationToken).ConfigureAwait(false);
        }

        var usage = acct.ToUsage(Name, "");
        if (usage.ExitCode is null || usage.JobId.Length == 0)
        {
            // Exact exit codes come from slurmctld (or what we saw from it); sacct's are exact too.
            var status = _ended.TryGetValue(backendJobId, out var cached)
                ? cached
                : await GetStatusAsync(backendJobId, cancellationToken).ConfigureAwait(false);
            if (status is { ExitCode: not null } && usage.ExitCode is null) usage = usage with { ExitCode = status.ExitCode };
            if (status is { JobId: { } compGridId } && usage.JobId.Length == 0) usage = usage with { JobId = compGridId };
        }
        return usage;
    }

    public Task CompleteAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        // Outputs stay where the job wrote them (the cluster's filesystem); nothing to remove. Idempotent.
        _ended.TryRemove(backendJobId, out _);
        return Task.CompletedTask;
    }

    private async Task<T> ExecuteAsync<T>(Func<CancellationToken, Task<T>> action, string operation, string? jobId, CancellationToken cancellationToken)
    {
        using var activity = SlurmTelemetry.Calls.StartCall(operation, Name);
        long started = _time.GetTimestamp();
        CompGridException? failure = null;
        try
        {
            return await _pipeline.ExecuteAsync(static async (state, ct) => await state(ct).ConfigureAwait(false), action, cancellationToken).ConfigureAwait(false);
        }
        catch (BrokenCircuitException ex)
        {
            throw failure = new CompGridException($"Slurm cluster '{Name}' is unavailable (circuit open after repeated faults); retry later.", ex)
            { Backend = Name, Operation = operation, JobId = jobId, IsTransient = true, Code = CompGridErrorCodes.CircuitOpen };
        }
        catch (CompGridException ex)
        {
            failure = ex;
            throw;
        }
        finally
        {
            SlurmTelemetry.Calls.Record(operation, Name, _time.GetElapsedTime(started), failure, activity);
        }
    }

    public ValueTask DisposeAsync() => _client.DisposeAsync();

    /// <summary>For containers disposed synchronously: closes the SSH master and the HTTP client.</summary>
    public void Dispose() => _client.DisposeAsync().AsTask().GetAwaiter().GetResult();

    public override string ToString() => $"Slurm backend '{Name}' ({_options.Transport})";
}

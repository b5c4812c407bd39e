namespace CompGrid;

/// <summary>
/// What portals and scripts call: submit, look up, list, cancel, approve, reject, wait, logs, nodes.
/// Implemented by the engine in <c>CompGrid.Scheduling</c>.
/// </summary>
public interface ICompGridClient
{
    /// <summary>
    /// Validates and admits a job, stores it (Queued or AwaitingApproval) and returns its handle.
    /// Throws <see cref="JobValidationException"/> on bad input and <see cref="JobRejectedException"/> (or
    /// <see cref="InsufficientFundsException"/>) when an admission check refuses; nothing is stored then.
    /// </summary>
    Task<JobHandle> SubmitAsync(JobSpec spec, CancellationToken cancellationToken = default);

    /// <summary>One job, or null.</summary>
    Task<JobRecord?> GetJobAsync(string jobId, CancellationToken cancellationToken = default);

    /// <summary>Jobs matching the query (all jobs when null), newest first.</summary>
    IAsyncEnumerable<JobRecord> ListJobsAsync(JobQuery? query = null, CancellationToken cancellationToken = default);

    /// <summary>A job's transitions, oldest first.</summary>
    Task<IReadOnlyList<JobTransition>> GetHistoryAsync(string jobId, CancellationToken cancellationToken = default);

    /// <summary>Cancels a job in any non-terminal state; a terminal job is returned unchanged.</summary>
    Task<JobRecord> CancelAsync(string jobId, string? actor = null, CancellationToken cancellationToken = default);

    /// <summary>Approves a job waiting for approval; it moves to Queued.</summary>
    Task<JobRecord> ApproveAsync(string jobId, string approver, string? reason = null, CancellationToken cancellationToken = default);

    /// <summary>Rejects a job waiting for approval; it ends Rejected.</summary>
    Task<JobRecord> RejectAsync(string jobId, string approver, string reason, CancellationToken cancellationToken = default);

    /// <summary>Waits until the job is terminal and returns it.</summary>
    Task<JobRecord> WaitForCompletionAsync(string jobId, CancellationToken cancellationToken = default);

    /// <summary>The job's output so far (empty before it starts).</summary>
    Task<JobLogs> GetLogsAsync(string jobId, CancellationToken cancellationToken = default);

    /// <summary>The job's usage record, once it is terminal.</summary>
    Task<UsageRecord?> GetUsageAsync(string jobId, CancellationToken cancellationToken = default);

    /// <summary>The nodes of every backend.</summary>
    Task<IReadOnlyList<NodeInfo>> GetNodesAsync(CancellationToken cancellationToken = default);
}

/// <summary>
/// A handle on one job (like Azure SDK's <c>Operation&lt;T&gt;</c>): keep its <see cref="Id"/> and get the handle
/// back later with <see cref="JobHandle(ICompGridClient, string)"/>. Synchronous methods are there for PowerShell.
/// </summary>
public sealed class JobHandle
{
    private readonly ICompGridClient _client;

    /// <summary>A handle on the job <paramref name="id"/>.</summary>
    public JobHandle(ICompGridClient client, string id)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrEmpty(id);
        _client = client;
        Id = id;
    }

    /// <summary>The CompGrid job id.</summary>
    public string Id { get; }

    /// <summary>The job's current record.</summary>
    public async Task<JobRecord> GetAsync(CancellationToken cancellationToken = default) =>
        await _client.GetJobAsync(Id, cancellationToken).ConfigureAwait(false) ?? throw new JobNotFoundException(Id);

    /// <summary>Waits until the job is terminal.</summary>
    public Task<JobRecord> WaitForCompletionAsync(CancellationToken cancellationToken = default) => _client.WaitForCompletionAsync(Id, cancellationToken);

    /// <summary>Cancels the job.</summary>
    public Task<JobRecord> CancelAsync(CancellationToken cancellationToken = default) => _client.CancelAsync(Id, null, cancellationToken);

    /// <summary>The job's output so far.</summary>
    public Task<JobLogs> GetLogsAsync(CancellationToken cancellationToken = default) => _client.GetLogsAsync(Id, cancellationToken);

    /// <summary>Blocks until the job is terminal (for PowerShell and other callers that cannot await).</summary>
    public JobRecord WaitForCompletion() => WaitForCompletionAsync().GetAwaiter().GetResult();

    /// <summary>The job's output so far (blocking).</summary>
    public JobLogs GetLogs() => GetLogsAsync().GetAwaiter().GetResult();

    /// <summary>Cancels the job (blocking).</summary>
    public JobRecord Cancel() => CancelAsync().GetAwaiter().GetResult();

    /// <inheritdoc/>
    public override string ToString() => Id;
}

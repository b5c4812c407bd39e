namespace CompGrid;

/// <summary>
/// Durable storage of jobs, their transition history, approvals and usage records. The engine persists every
/// transition here before acting on it. Implementations must be safe under concurrent use.
/// </summary>
public interface IJobStore
{
    /// <summary>Creates the schema or migrates it to the current version. Idempotent.</summary>
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>Stores a new job with its first transition. Throws <see cref="CompGridException"/> when the id exists.</summary>
    Task CreateAsync(JobRecord job, JobTransition transition, CancellationToken cancellationToken = default);

    /// <summary>
    /// Replaces a job when its stored <see cref="JobRecord.Version"/> equals <paramref name="expectedVersion"/>, appending
    /// <paramref name="transition"/> (if any) in the same transaction. Returns <see langword="false"/> on a version conflict.
    /// The caller passes the record with its version already incremented.
    /// </summary>
    Task<bool> TryUpdateAsync(JobRecord job, long expectedVersion, JobTransition? transition, CancellationToken cancellationToken = default);

    /// <summary>One job, or null.</summary>
    Task<JobRecord?> GetAsync(string jobId, CancellationToken cancellationToken = default);

    /// <summary>Jobs matching the query, newest first.</summary>
    IAsyncEnumerable<JobRecord> QueryAsync(JobQuery query, CancellationToken cancellationToken = default);

    /// <summary>A job's transitions, oldest first.</summary>
    Task<IReadOnlyList<JobTransition>> GetHistoryAsync(string jobId, CancellationToken cancellationToken = default);

    /// <summary>Stores a job's usage record unless one is already stored; returns <see langword="false"/> when it was.</summary>
    Task<bool> TryAddUsageAsync(UsageRecord usage, CancellationToken cancellationToken = default);

    /// <summary>A job's usage record, or null.</summary>
    Task<UsageRecord?> GetUsageAsync(string jobId, CancellationToken cancellationToken = default);
}

using CompGrid.Slurm.Mapping;

namespace CompGrid.Slurm;

/// <summary>The operations the backend needs from a cluster, implemented once per transport (CLI/SSH, REST).</summary>
internal interface ISlurmClient : IAsyncDisposable
{
    /// <summary>Submits a job; returns the Slurm job id.</summary>
    Task<string> SubmitAsync(SlurmJobDefinition job, CancellationToken cancellationToken);

    /// <summary>The job as slurmctld knows it, or null when slurmctld does not (unknown, or purged after MinJobAge).</summary>
    Task<SlurmJobInfo?> GetJobAsync(string jobId, CancellationToken cancellationToken);

    /// <summary>All jobs slurmctld knows (running, pending, recently ended).</summary>
    Task<IReadOnlyList<SlurmJobInfo>> ListJobsAsync(CancellationToken cancellationToken);

    /// <summary>Cancels a job (no effect on an ended one).</summary>
    Task CancelAsync(string jobId, CancellationToken cancellationToken);

    /// <summary>The nodes.</summary>
    Task<IReadOnlyList<NodeInfo>> GetNodesAsync(string backendName, CancellationToken cancellationToken);

    /// <summary>The job's accounting record from slurmdbd, or null when it has none (yet).</summary>
    Task<SlurmAccountingRecord?> GetAccountingAsync(string jobId, CancellationToken cancellationToken);

    /// <summary>
    /// The last <paramref name="maxBytes"/> bytes of the job output file <paramref name="fileName"/> in
    /// <paramref name="directory"/>, or null when it does not exist. A link, FIFO or other non-regular file is refused
    /// (<c>unsafe-log-file</c>), never followed or opened blocking.
    /// </summary>
    Task<(string Text, bool Truncated)?> ReadLogTailAsync(string directory, string fileName, int maxBytes, CancellationToken cancellationToken);
}

using System.Management.Automation;

namespace CompGrid.PowerShell.Cmdlets;

/// <summary>
/// <c>Wait-CompGridJob</c>: blocks until each job is terminal and writes its final record, showing the job's state as
/// progress meanwhile. Ctrl+C stops the wait (the job keeps running); <c>-Timeout</c> gives up with an error.
/// </summary>
[Cmdlet(VerbsLifecycle.Wait, "CompGridJob")]
[OutputType(typeof(JobRecord))]
public sealed class WaitCompGridJobCommand : JobIdCmdlet
{
    private int _activity;

    /// <summary>How long to wait for each job; the default is no limit.</summary>
    [Parameter]
    public TimeSpan? Timeout { get; set; }

    /// <summary>How often the progress bar is refreshed with the job's state; the default is 1 second.</summary>
    [Parameter]
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <inheritdoc/>
    protected override void ProcessJob(string id)
    {
        var grid = Grid;
        if (ProgressInterval <= TimeSpan.Zero)
            ThrowTerminatingError(CompGridErrorRecords.From(new JobValidationException("ProgressInterval", "must be positive"), ProgressInterval));
        var time = TimeProvider.System;
        long start = time.GetTimestamp();
        int activity = ++_activity;
        var job = GetJob(id);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(CancelToken);
        var done = grid.Client.WaitForCompletionAsync(id, wait.Token);
        // A new record each time: hosts keep the records they are given, so one reused record would show only its last state.
        ProgressRecord Progress(string status) => new(activity, $"Waiting for CompGrid job {id}", status) { CurrentOperation = job.Reason ?? "" };
        var last = job.State.ToString();
        try
        {
            // The wait itself is the engine's (or the portal's); this loop only refreshes the progress bar and the limit.
            while (!((IAsyncResult)done).AsyncWaitHandle.WaitOne(ProgressInterval))
            {
                var elapsed = time.GetElapsedTime(start);
                if (Timeout is { } limit && elapsed >= limit)
                {
                    wait.Cancel();
                    WriteError(CompGridErrorRecords.From(new CompGridException(
                        $"Job '{id}' is still {job.State} after {limit}; it keeps running (Stop-CompGridJob cancels it).")
                    { Code = CompGridErrorCodes.Timeout, JobId = id, Operation = "wait" }, id));
                    return;
                }
                job = Run(ct => grid.Client.GetJobAsync(id, ct)) ?? job;
                last = $"{job.State}{(job.Backend is null ? "" : " on " + job.Backend)}, {elapsed:hh\\:mm\\:ss}";
                WriteProgress(Progress(last));
            }
            WriteObject(done.GetAwaiter().GetResult());
        }
        finally
        {
            var completed = Progress(last);
            completed.RecordType = ProgressRecordType.Completed;
            WriteProgress(completed);
        }
    }
}

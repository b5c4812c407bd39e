using System.Management.Automation;

namespace CompGrid.PowerShell.Cmdlets;

/// <summary>
/// The base of every CompGrid cmdlet except <c>Connect-CompGrid</c>: the <c>-Connection</c> parameter, blocking calls
/// that <c>Ctrl+C</c> (<see cref="StopProcessing"/>) cancels, and CompGrid errors written as error records.
/// </summary>
public abstract class CompGridCmdlet : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>The connection to use; the session's current one (from <c>Connect-CompGrid</c>) when omitted.</summary>
    [Parameter]
    [ValidateNotNull]
    public CompGridConnection? Connection { get; set; }

    /// <summary>Cancelled when the user presses Ctrl+C or the pipeline is stopped.</summary>
    protected CancellationToken CancelToken => _stopping.Token;

    /// <summary>The connection the calls go to.</summary>
    protected CompGridConnection Grid
    {
        get
        {
            var c = Connection ?? CompGridSession.Current;
            if (c is null || c.IsDisposed)
                ThrowTerminatingError(CompGridErrorRecords.NotConnected("Not connected to CompGrid: run Connect-CompGrid first (or pass -Connection)."));
            return c!;
        }
    }

    /// <inheritdoc/>
    protected sealed override void ProcessRecord()
    {
        try { ProcessCompGridRecord(); }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested) { throw new PipelineStoppedException(); }
        catch (CompGridException ex) { WriteError(CompGridErrorRecords.From(ex, ErrorTarget)); }
    }

    /// <summary>What one pipeline input does.</summary>
    protected abstract void ProcessCompGridRecord();

    /// <summary>The object an error is about (a job id, a grant code), shown as the error's target.</summary>
    protected virtual object? ErrorTarget => null;

    /// <summary>Runs a call to completion on the pipeline thread; Ctrl+C cancels it.</summary>
    protected T Run<T>(Func<CancellationToken, Task<T>> call)
    {
        ArgumentNullException.ThrowIfNull(call);
        return call(CancelToken).GetAwaiter().GetResult();
    }

    /// <summary>Collects an async listing on the pipeline thread, writing each item as it arrives.</summary>
    protected void WriteAll<T>(IAsyncEnumerable<T> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        var e = items.GetAsyncEnumerator(CancelToken);
        try
        {
            while (e.MoveNextAsync().AsTask().GetAwaiter().GetResult()) WriteObject(e.Current);
        }
        finally { e.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
    }

    /// <inheritdoc/>
    protected override void StopProcessing() => _stopping.Cancel();

    /// <inheritdoc/>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the cancellation source.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing) _stopping.Dispose();
    }
}

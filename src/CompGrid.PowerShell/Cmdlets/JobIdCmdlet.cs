using System.Diagnostics.CodeAnalysis;
using System.Management.Automation;

namespace CompGrid.PowerShell.Cmdlets;

/// <summary>
/// A cmdlet that acts on jobs named by id: ids from the command line, strings from the pipeline, or any object with an
/// <c>Id</c> property (the <see cref="JobRecord"/>s other CompGrid cmdlets write).
/// </summary>
public abstract class JobIdCmdlet : CompGridCmdlet
{
    private string? _current;

    /// <summary>The job ids.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [Alias("JobId")]
    [SuppressMessage("Performance", "CA1819:Properties should not return arrays", Justification = "PowerShell parameters are arrays.")]
    public string[] Id { get; set; } = [];

    /// <inheritdoc/>
    protected override object? ErrorTarget => _current;

    /// <inheritdoc/>
    protected sealed override void ProcessCompGridRecord()
    {
        foreach (string id in Id)
        {
            _current = id;
            try { ProcessJob(id); }
            catch (CompGridException ex) { WriteError(CompGridErrorRecords.From(ex, id)); }
        }
    }

    /// <summary>What the cmdlet does with one job.</summary>
    protected abstract void ProcessJob(string id);

    /// <summary>The job's record; a missing job is a <see cref="JobNotFoundException"/>.</summary>
    protected JobRecord GetJob(string id) => Run(ct => Grid.Client.GetJobAsync(id, ct)) ?? throw new JobNotFoundException(id);
}

using System.Diagnostics.CodeAnalysis;
using System.Management.Automation;

namespace CompGrid.PowerShell.Cmdlets;

/// <summary>
/// <c>Get-CompGridJob</c>: jobs by id (from the command line or the pipeline), or a filtered listing, newest first
/// (<c>Get-CompGridJob -State Running | Stop-CompGridJob</c>).
/// </summary>
[Cmdlet(VerbsCommon.Get, "CompGridJob", DefaultParameterSetName = ListSet)]
[OutputType(typeof(JobRecord))]
public sealed class GetCompGridJobCommand : CompGridCmdlet
{
    private const string ListSet = "List", IdSet = "Id";

    /// <summary>The job ids to get.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = IdSet)]
    [ValidateNotNullOrEmpty]
    [Alias("JobId")]
    [SuppressMessage("Performance", "CA1819:Properties should not return arrays", Justification = "PowerShell parameters are arrays.")]
    public string[] Id { get; set; } = [];

    /// <summary>Only jobs in these states.</summary>
    [Parameter(ParameterSetName = ListSet)]
    [SuppressMessage("Performance", "CA1819:Properties should not return arrays", Justification = "PowerShell parameters are arrays.")]
    public JobState[] State { get; set; } = [];

    /// <summary>Only this owner's jobs.</summary>
    [Parameter(ParameterSetName = ListSet)]
    public string? Owner { get; set; }

    /// <summary>Only jobs charged to this grant.</summary>
    [Parameter(ParameterSetName = ListSet)]
    [Alias("Grant")]
    public string? Account { get; set; }

    /// <summary>Only jobs on this backend.</summary>
    [Parameter(ParameterSetName = ListSet)]
    public string? Backend { get; set; }

    /// <summary>At most this many jobs; the default is 1000.</summary>
    [Parameter(ParameterSetName = ListSet)]
    [ValidateRange(1, int.MaxValue)]
    public int First { get; set; } = 1000;

    private string? _current;

    /// <inheritdoc/>
    protected override object? ErrorTarget => _current;

    /// <inheritdoc/>
    protected override void ProcessCompGridRecord()
    {
        var grid = Grid;
        if (ParameterSetName == ListSet)
        {
            WriteAll(grid.Client.ListJobsAsync(new JobQuery { States = State, Owner = Owner, Account = Account, Backend = Backend, Limit = First }, CancelToken));
            return;
        }
        foreach (string id in Id)
        {
            _current = id;
            var job = Run(ct => grid.Client.GetJobAsync(id, ct));
            if (job is null) WriteError(CompGridErrorRecords.From(new JobNotFoundException(id), id));
            else WriteObject(job);
        }
    }
}

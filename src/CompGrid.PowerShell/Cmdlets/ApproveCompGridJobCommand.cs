using System.Management.Automation;

namespace CompGrid.PowerShell.Cmdlets;

/// <summary>
/// <c>Approve-CompGridJob</c>: approves jobs waiting for approval (they move to Queued), or rejects them with
/// <c>-Reject -Reason</c> (they end Rejected). The portal checks that the caller is an administrator.
/// </summary>
[Cmdlet(VerbsLifecycle.Approve, "CompGridJob", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(JobRecord))]
public sealed class ApproveCompGridJobCommand : JobIdCmdlet
{
    /// <summary>Rejects instead of approving (needs <see cref="Reason"/>).</summary>
    [Parameter]
    public SwitchParameter Reject { get; set; }

    /// <summary>Why; required with <see cref="Reject"/>.</summary>
    [Parameter]
    public string? Reason { get; set; }

    /// <inheritdoc/>
    protected override void BeginProcessing()
    {
        if (Reject && string.IsNullOrWhiteSpace(Reason))
            ThrowTerminatingError(CompGridErrorRecords.From(new JobValidationException("Reason", "is required with -Reject (the owner is told why)"), null));
    }

    /// <inheritdoc/>
    protected override void ProcessJob(string id)
    {
        var grid = Grid;
        if (!ShouldProcess(id, Reject ? "Reject CompGrid job" : "Approve CompGrid job")) return;
        WriteObject(Reject
            ? Run(ct => grid.Client.RejectAsync(id, grid.User, Reason!, ct))
            : Run(ct => grid.Client.ApproveAsync(id, grid.User, Reason, ct)));
    }
}

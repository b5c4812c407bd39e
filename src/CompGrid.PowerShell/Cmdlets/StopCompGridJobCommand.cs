using System.Management.Automation;

namespace CompGrid.PowerShell.Cmdlets;

/// <summary><c>Stop-CompGridJob</c>: cancels jobs in any non-terminal state (a terminal job is left as it is).</summary>
[Cmdlet(VerbsLifecycle.Stop, "CompGridJob", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(JobRecord))]
public sealed class StopCompGridJobCommand : JobIdCmdlet
{
    /// <summary>Writes each job's record after the cancel request.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc/>
    protected override void ProcessJob(string id)
    {
        var grid = Grid;
        if (!ShouldProcess(id, "Cancel CompGrid job")) return;
        var job = Run(ct => grid.Client.CancelAsync(id, grid.User, ct));
        if (PassThru) WriteObject(job);
    }
}

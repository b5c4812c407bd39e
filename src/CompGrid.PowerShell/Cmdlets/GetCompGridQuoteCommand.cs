using System.Management.Automation;
using CompGrid.Billing;

namespace CompGrid.PowerShell.Cmdlets;

/// <summary>
/// <c>Get-CompGridQuote</c>: the most a job would cost (its resources for its whole walltime at the current rate card)
/// and, with <c>-Account</c>, whether the grant can cover it. Nothing is held or stored.
/// </summary>
[Cmdlet(VerbsCommon.Get, "CompGridQuote", DefaultParameterSetName = ParametersSet)]
[OutputType(typeof(Quote))]
public sealed class GetCompGridQuoteCommand : CompGridCmdlet
{
    private const string ParametersSet = "Parameters", SpecSet = "Spec";

    /// <summary>A job specification from the pipeline.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = SpecSet)]
    public JobSpec? Spec { get; set; }

    /// <summary>CPUs per node; the default is 1.</summary>
    [Parameter(ParameterSetName = ParametersSet)]
    public int? Cpus { get; set; }

    /// <summary>Memory per node in MiB.</summary>
    [Parameter(ParameterSetName = ParametersSet)]
    public long? MemoryMiB { get; set; }

    /// <summary>GPUs per node.</summary>
    [Parameter(ParameterSetName = ParametersSet)]
    public int? Gpus { get; set; }

    /// <summary>Nodes; the default is 1.</summary>
    [Parameter(ParameterSetName = ParametersSet)]
    public int? Nodes { get; set; }

    /// <summary>The walltime the job would ask for; the default is the engine's.</summary>
    [Parameter(ParameterSetName = ParametersSet)]
    public TimeSpan? Walltime { get; set; }

    /// <summary>The grant to check the quote against.</summary>
    [Parameter(ParameterSetName = ParametersSet)]
    [Alias("Grant")]
    public string? Account { get; set; }

    /// <summary>The backend the job would run on.</summary>
    [Parameter(ParameterSetName = ParametersSet)]
    public string? Backend { get; set; }

    /// <summary>The quality of service (its multiplier applies).</summary>
    [Parameter(ParameterSetName = ParametersSet)]
    public string? Qos { get; set; }

    /// <inheritdoc/>
    protected override void ProcessCompGridRecord()
    {
        var grid = Grid;
        var spec = Spec ?? JobSpecParameters.Build(JobPayload.Command("true"), null, grid.User, Cpus, MemoryMiB, Gpus, Nodes, Walltime, Account, Backend, Qos, null, null);
        if (spec.Owner.Length == 0) spec = spec with { Owner = grid.User };
        WriteObject(Run(ct => grid.Billing.QuoteAsync(spec, ct)));
    }
}

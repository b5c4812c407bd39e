using System.Diagnostics.CodeAnalysis;
using System.Management.Automation;

namespace CompGrid.PowerShell.Cmdlets;

/// <summary><c>Get-CompGridGrant</c>: grants with their balances, all visible ones or by code.</summary>
[Cmdlet(VerbsCommon.Get, "CompGridGrant", DefaultParameterSetName = ListSet)]
[OutputType(typeof(CompGridGrant))]
public sealed class GetCompGridGrantCommand : CompGridCmdlet
{
    private const string ListSet = "List", CodeSet = "Code";
    private string? _current;

    /// <summary>The grant codes.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = CodeSet)]
    [ValidateNotNullOrEmpty]
    [Alias("Account", "Grant")]
    [SuppressMessage("Performance", "CA1819:Properties should not return arrays", Justification = "PowerShell parameters are arrays.")]
    public string[] Code { get; set; } = [];

    /// <summary>Only grants this user may charge (in-process; a portal shows the caller's own grants).</summary>
    [Parameter(ParameterSetName = ListSet)]
    public string? Member { get; set; }

    /// <inheritdoc/>
    protected override object? ErrorTarget => _current;

    /// <inheritdoc/>
    protected override void ProcessCompGridRecord()
    {
        var billing = Grid.Billing;
        if (ParameterSetName == ListSet)
        {
            foreach (var g in Run(ct => billing.ListGrantsAsync(Member, ct))) WriteObject(g);
            return;
        }
        foreach (string code in Code)
        {
            _current = code;
            var grant = Run(ct => billing.GetGrantAsync(code, ct));
            if (grant is null)
                WriteError(CompGridErrorRecords.From(new CompGridException($"Grant '{code}' was not found.") { Code = CompGridErrorCodes.UnknownGrant, Operation = "grant" }, code));
            else WriteObject(grant);
        }
    }
}

using System.Diagnostics.CodeAnalysis;
using System.Management.Automation;
using CompGrid.Billing;

namespace CompGrid.PowerShell.Cmdlets;

/// <summary>
/// <c>Get-CompGridStatement</c>: a grant's statement for a period (the default is this calendar month, UTC): opening
/// and closing balance, every charge and adjustment, totals by user and by resource. <c>-AsCsv</c> writes the CSV text.
/// </summary>
[Cmdlet(VerbsCommon.Get, "CompGridStatement")]
[OutputType(typeof(Statement), typeof(string))]
public sealed class GetCompGridStatementCommand : CompGridCmdlet
{
    private string? _current;

    /// <summary>The grant codes (pipe <c>Get-CompGridGrant</c> in).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [Alias("Code", "Account")]
    [SuppressMessage("Performance", "CA1819:Properties should not return arrays", Justification = "PowerShell parameters are arrays.")]
    public string[] Grant { get; set; } = [];

    /// <summary>The period's start (inclusive); the default is the first of this month.</summary>
    [Parameter]
    public DateTimeOffset? From { get; set; }

    /// <summary>The period's end (exclusive); the default is the first of next month.</summary>
    [Parameter]
    public DateTimeOffset? To { get; set; }

    /// <summary>Writes the statement as CSV text.</summary>
    [Parameter]
    public SwitchParameter AsCsv { get; set; }

    /// <inheritdoc/>
    protected override object? ErrorTarget => _current;

    /// <inheritdoc/>
    protected override void BeginProcessing()
    {
        if (From is { } f && To is { } t && t < f)
            ThrowTerminatingError(CompGridErrorRecords.From(new JobValidationException("To", "must not be before -From"), To));
    }

    /// <inheritdoc/>
    protected override void ProcessCompGridRecord()
    {
        var billing = Grid.Billing;
        foreach (string code in Grant)
        {
            _current = code;
            var statement = Run(ct => billing.GetStatementAsync(code, From, To, ct));
            WriteObject(AsCsv ? statement.ToCsv() : statement);
        }
    }
}

using System.Management.Automation;

namespace CompGrid.PowerShell.Cmdlets;

/// <summary><c>Get-CompGridNode</c>: the nodes of every backend with their capacity, free resources and state.</summary>
[Cmdlet(VerbsCommon.Get, "CompGridNode")]
[OutputType(typeof(NodeInfo))]
public sealed class GetCompGridNodeCommand : CompGridCmdlet
{
    /// <summary>Only nodes whose name matches (wildcards allowed).</summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    public string? Name { get; set; }

    /// <summary>Only this backend's nodes.</summary>
    [Parameter]
    public string? Backend { get; set; }

    /// <inheritdoc/>
    protected override void ProcessCompGridRecord()
    {
        var grid = Grid;
        var pattern = Name is null ? null : new WildcardPattern(Name, WildcardOptions.IgnoreCase);
        foreach (var node in Run(grid.Client.GetNodesAsync))
            if ((Backend is null || string.Equals(node.Backend, Backend, StringComparison.Ordinal)) && (pattern is null || pattern.IsMatch(node.Name)))
                WriteObject(node);
    }
}

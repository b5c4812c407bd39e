using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;

namespace CompGrid.PowerShell;

/// <summary>
/// The current connection of each runspace (what <c>Connect-CompGrid</c> sets): two runspaces of one process, such as
/// <c>ForEach-Object -Parallel</c> workers or a hosted <c>[powershell]::Create()</c>, keep their own.
/// </summary>
internal static class CompGridSession
{
    private static readonly ConditionalWeakTable<Runspace, CompGridConnection> Connections = new();

    public static CompGridConnection? Current =>
        Runspace.DefaultRunspace is { } rs && Connections.TryGetValue(rs, out var c) && !c.IsDisposed ? c : null;

    /// <summary>Makes <paramref name="connection"/> current and returns the one it replaces.</summary>
    public static CompGridConnection? Set(CompGridConnection? connection)
    {
        var rs = Runspace.DefaultRunspace ?? throw new InvalidOperationException("No runspace on this thread.");
        Connections.TryGetValue(rs, out var previous);
        if (connection is null) Connections.Remove(rs);
        else Connections.AddOrUpdate(rs, connection);
        return previous;
    }
}

namespace CompGrid.Scheduling.Power;

/// <summary>What one pass of the power manager decided.</summary>
public sealed record PowerActions
{
    /// <summary>Nodes being started (backend/node) for queued jobs.</summary>
    public IReadOnlyList<string> Starting { get; init; } = [];

    /// <summary>Nodes being stopped (backend/node) because they were idle for <see cref="PowerManagerOptions.IdleTime"/>.</summary>
    public IReadOnlyList<string> Stopping { get; init; } = [];

    /// <summary>Nodes that needed a start or stop but waited for the rate limit.</summary>
    public IReadOnlyList<string> Deferred { get; init; } = [];

    /// <inheritdoc/>
    public override string ToString() => $"start [{string.Join(", ", Starting)}] stop [{string.Join(", ", Stopping)}] deferred [{string.Join(", ", Deferred)}]";
}

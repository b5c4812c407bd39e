namespace CompGrid.Agent;

/// <summary>How long the machine's user has been away from the console; pluggable so the desktop policy can be tested and ported.</summary>
internal interface IIdleSource
{
    /// <summary>The time since the last keyboard or mouse activity, or null when it cannot be told (the policy then assumes someone is there).</summary>
    ValueTask<TimeSpan?> GetIdleTimeAsync(CancellationToken cancellationToken);
}

namespace CompGrid;

/// <summary>
/// The names of the built-in queue ordering policies, for <see cref="CompGridOptions.QueueOrdering"/> and
/// <c>SimulationConfiguration.QueueOrdering</c>. Names are matched ordinal-ignore-case; a custom policy registered
/// with <c>AddQueueOrderingPolicy&lt;T&gt;()</c> under one of these names replaces the built-in.
/// </summary>
public static class QueueOrderingNames
{
    /// <summary>By nice (lower first), then submit time, then id. The engine's default.</summary>
    public const string Priority = "priority";

    /// <summary>By submit time, then id.</summary>
    public const string Fifo = "fifo";

    /// <summary>Slurm-style multifactor priority (age, fair share, job size, QOS, partition, nice) with classic fair share <c>2^(-U/S)</c>.</summary>
    public const string Multifactor = "multifactor";

    /// <summary>Multifactor priority with Fair Tree fair share.</summary>
    public const string FairTree = "fair-tree";
}

namespace CompGrid.EmbeddedPortal.Backends;

/// <summary>
/// Options of the teaching process backend. Bind from configuration (<c>CompGrid:Process</c>); validated at start-up by
/// <see cref="ProcessBackendOptionsValidator"/>, for DI and for <see cref="ProcessBackend.Create"/> alike.
/// </summary>
public sealed class ProcessBackendOptions
{
    /// <summary>The directory under which each job gets a working directory of its own (removed when the job is completed).</summary>
    /// <value>The default is <c>$TMPDIR/compgrid-process</c>.</value>
    public string WorkDirectory { get; set; } = Path.Combine(Path.GetTempPath(), "compgrid-process");

    /// <summary>The name of the backend's single node.</summary>
    /// <value>The default is <c>proc</c>.</value>
    public string NodeName { get; set; } = "proc";

    /// <summary>The CPUs the node offers to CompGrid's placement (not enforced on the processes).</summary>
    /// <value>The default is the machine's processor count.</value>
    public int Cpus { get; set; } = Environment.ProcessorCount;

    /// <summary>The memory the node offers to CompGrid's placement, in MiB (not enforced on the processes).</summary>
    /// <value>The default is 1024.</value>
    public long MemoryMiB { get; set; } = 1024;

    /// <summary>How many bytes of each of standard output and standard error are kept per job.</summary>
    /// <value>The default is 1 MiB.</value>
    public int MaxLogBytes { get; set; } = 1024 * 1024;
}

using System.Diagnostics.CodeAnalysis;
using System.Collections;
using System.Management.Automation;

namespace CompGrid.PowerShell.Cmdlets;

/// <summary>
/// <c>Submit-CompGridJob</c>: submits a command line, a script, an executable with its argument list, a container
/// image or a piped <see cref="JobSpec"/>, and writes the stored job (Queued, or AwaitingApproval for large jobs).
/// </summary>
[Cmdlet(VerbsLifecycle.Submit, "CompGridJob", SupportsShouldProcess = true, DefaultParameterSetName = CommandSet)]
[OutputType(typeof(JobRecord))]
public sealed class SubmitCompGridJobCommand : CompGridCmdlet
{
    private const string CommandSet = "Command", ScriptSet = "Script", ExecutableSet = "Executable", ContainerSet = "Container", SpecSet = "Spec";

    /// <summary>A shell command line (run by /bin/sh).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = CommandSet)]
    [ValidateNotNullOrEmpty]
    public string Command { get; set; } = "";

    /// <summary>A script's text.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ScriptSet)]
    [ValidateNotNullOrEmpty]
    public string Script { get; set; } = "";

    /// <summary>The interpreter of <see cref="Script"/>; the default is /bin/sh.</summary>
    [Parameter(ParameterSetName = ScriptSet)]
    public string? Interpreter { get; set; }

    /// <summary>An executable started with <see cref="ArgumentList"/> (an argument list, never a shell string).</summary>
    [Parameter(Mandatory = true, ParameterSetName = ExecutableSet)]
    [ValidateNotNullOrEmpty]
    public string Executable { get; set; } = "";

    /// <summary>A container image (Docker backends).</summary>
    [Parameter(Mandatory = true, ParameterSetName = ContainerSet)]
    [ValidateNotNullOrEmpty]
    public string Image { get; set; } = "";

    /// <summary>The arguments of <see cref="Executable"/> or the command of <see cref="Image"/>.</summary>
    [Parameter(ParameterSetName = ExecutableSet)]
    [Parameter(ParameterSetName = ContainerSet)]
    [SuppressMessage("Performance", "CA1819:Properties should not return arrays", Justification = "PowerShell parameters are arrays.")]
    public string[] ArgumentList { get; set; } = [];

    /// <summary>A complete job specification (for example built in a script), from the pipeline.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = SpecSet)]
    public JobSpec? Spec { get; set; }

    /// <summary>The job's name; the default is "job".</summary>
    [Parameter(ParameterSetName = CommandSet)][Parameter(ParameterSetName = ScriptSet)][Parameter(ParameterSetName = ExecutableSet)][Parameter(ParameterSetName = ContainerSet)]
    public string? Name { get; set; }

    /// <summary>CPUs per node; the default is 1.</summary>
    [Parameter(ParameterSetName = CommandSet)][Parameter(ParameterSetName = ScriptSet)][Parameter(ParameterSetName = ExecutableSet)][Parameter(ParameterSetName = ContainerSet)]
    public int? Cpus { get; set; }

    /// <summary>Memory per node in MiB; the default (0) is the backend's default.</summary>
    [Parameter(ParameterSetName = CommandSet)][Parameter(ParameterSetName = ScriptSet)][Parameter(ParameterSetName = ExecutableSet)][Parameter(ParameterSetName = ContainerSet)]
    public long? MemoryMiB { get; set; }

    /// <summary>GPUs per node; the default is 0.</summary>
    [Parameter(ParameterSetName = CommandSet)][Parameter(ParameterSetName = ScriptSet)][Parameter(ParameterSetName = ExecutableSet)][Parameter(ParameterSetName = ContainerSet)]
    public int? Gpus { get; set; }

    /// <summary>Nodes; the default is 1.</summary>
    [Parameter(ParameterSetName = CommandSet)][Parameter(ParameterSetName = ScriptSet)][Parameter(ParameterSetName = ExecutableSet)][Parameter(ParameterSetName = ContainerSet)]
    public int? Nodes { get; set; }

    /// <summary>The walltime limit (for example 00:10:00); the default is the engine's.</summary>
    [Parameter(ParameterSetName = CommandSet)][Parameter(ParameterSetName = ScriptSet)][Parameter(ParameterSetName = ExecutableSet)][Parameter(ParameterSetName = ContainerSet)]
    public TimeSpan? Walltime { get; set; }

    /// <summary>The grant (account) to charge.</summary>
    [Parameter(ParameterSetName = CommandSet)][Parameter(ParameterSetName = ScriptSet)][Parameter(ParameterSetName = ExecutableSet)][Parameter(ParameterSetName = ContainerSet)]
    [Alias("Grant")]
    public string? Account { get; set; }

    /// <summary>The backend to run on; the default is the engine's routing.</summary>
    [Parameter(ParameterSetName = CommandSet)][Parameter(ParameterSetName = ScriptSet)][Parameter(ParameterSetName = ExecutableSet)][Parameter(ParameterSetName = ContainerSet)]
    public string? Backend { get; set; }

    /// <summary>The quality of service (rate multipliers apply).</summary>
    [Parameter(ParameterSetName = CommandSet)][Parameter(ParameterSetName = ScriptSet)][Parameter(ParameterSetName = ExecutableSet)][Parameter(ParameterSetName = ContainerSet)]
    public string? Qos { get; set; }

    /// <summary>Environment variables of the job (<c>@{ NAME = 'value' }</c>).</summary>
    [Parameter(ParameterSetName = CommandSet)][Parameter(ParameterSetName = ScriptSet)][Parameter(ParameterSetName = ExecutableSet)][Parameter(ParameterSetName = ContainerSet)]
    public Hashtable? Environment { get; set; }

    /// <summary>Labels of the job (<c>@{ project = 'x' }</c>).</summary>
    [Parameter(ParameterSetName = CommandSet)][Parameter(ParameterSetName = ScriptSet)][Parameter(ParameterSetName = ExecutableSet)][Parameter(ParameterSetName = ContainerSet)]
    public Hashtable? Label { get; set; }

    /// <inheritdoc/>
    protected override void ProcessCompGridRecord()
    {
        var grid = Grid;
        JobSpec spec = Spec is { } piped
            ? (piped.Owner.Length == 0 ? piped with { Owner = grid.User } : piped)
            : JobSpecParameters.Build(Payload(), Name, grid.User, Cpus, MemoryMiB, Gpus, Nodes, Walltime, Account, Backend, Qos, Environment, Label);
        if (!ShouldProcess(grid.Target, $"Submit job '{spec.Name}' ({spec.Payload}; {spec.Resources})")) return;
        var handle = Run(ct => grid.Client.SubmitAsync(spec, ct));
        WriteObject(Run(handle.GetAsync));
    }

    private JobPayload Payload() => ParameterSetName switch
    {
        ScriptSet => JobPayload.FromScript(Script, Interpreter),
        ExecutableSet => JobPayload.Exec(Executable, ArgumentList),
        ContainerSet => JobPayload.Container(Image, ArgumentList),
        _ => JobPayload.Command(Command),
    };
}

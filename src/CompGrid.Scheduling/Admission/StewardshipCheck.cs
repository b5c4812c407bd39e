using System.Globalization;
using Microsoft.Extensions.Options;

namespace CompGrid;

/// <summary>
/// The stewardship rule: jobs within these limits run at once; larger ones wait in AwaitingApproval until an approver
/// approves or rejects them. Null limits do not apply.
/// </summary>
public sealed class StewardshipOptions
{
    /// <summary>The most CPUs (summed over nodes) a job may use without approval. The default is null (no limit).</summary>
    public int? MaxCpus { get; set; }

    /// <summary>The most memory in MiB (summed over nodes) a job may use without approval. The default is null.</summary>
    public long? MaxMemoryMiB { get; set; }

    /// <summary>The most GPUs (summed over nodes) a job may use without approval. The default is null.</summary>
    public int? MaxGpus { get; set; }

    /// <summary>The most nodes a job may use without approval. The default is null.</summary>
    public int? MaxNodes { get; set; }

    /// <summary>The longest walltime a job may ask for without approval. The default is null.</summary>
    public TimeSpan? MaxWalltime { get; set; }
}

/// <summary>The stewardship admission check: admits small jobs, sends larger ones to an approver (see <see cref="StewardshipOptions"/>).</summary>
internal sealed class StewardshipCheck : IAdmissionCheck
{
    private readonly IOptionsMonitor<StewardshipOptions> _options;

    /// <summary>Creates the check.</summary>
    public StewardshipCheck(IOptionsMonitor<StewardshipOptions> options) => _options = options;

    /// <inheritdoc/>
    public ValueTask<AdmissionResult> CheckAsync(AdmissionContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var o = _options.CurrentValue;
        var r = context.Spec.Resources;
        var over = new List<string>();
        var inv = CultureInfo.InvariantCulture;
        if (o.MaxCpus is { } c && r.TotalCpus > c) over.Add(string.Create(inv, $"{r.TotalCpus} CPUs (limit {c})"));
        long mem = context.MemoryMiBPerNode * r.Nodes;
        if (o.MaxMemoryMiB is { } m && mem > m) over.Add(string.Create(inv, $"{mem} MiB memory (limit {m})"));
        if (o.MaxGpus is { } g && r.TotalGpus > g) over.Add(string.Create(inv, $"{r.TotalGpus} GPUs (limit {g})"));
        if (o.MaxNodes is { } n && r.Nodes > n) over.Add(string.Create(inv, $"{r.Nodes} nodes (limit {n})"));
        if (o.MaxWalltime is { } w && context.Walltime > w) over.Add(string.Create(inv, $"walltime {context.Walltime} (limit {w})"));
        return ValueTask.FromResult(over.Count == 0
            ? AdmissionResult.Admit()
            : AdmissionResult.WaitForApproval("needs approval: requests " + string.Join(", ", over) + " above what runs without approval"));
    }
}

using System.Globalization;

namespace CompGrid.Billing;

/// <summary>How weighted TRES are combined into billing units (Slurm <c>PriorityFlags</c>).</summary>
public enum TresBillingMode
{
    /// <summary>The sum of every weighted TRES (Slurm's default).</summary>
    Sum,
    /// <summary><c>MAX_TRES</c>: the largest weighted node TRES (cpu, mem, node, gres/*) plus the sum of the others (licenses, bb, …).</summary>
    Max,
    /// <summary><c>MAX_TRES_GRES</c>: the sum of weighted GRES plus the largest of cpu, mem and node, plus the sum of the others.</summary>
    MaxGres,
}

/// <summary>
/// Slurm <c>TRESBillingWeights</c>: weights per trackable resource, parsed from Slurm's syntax
/// (<c>CPU=1.0,Mem=0.25G,GRES/gpu=2.0,License/licA=1.5</c>). Memory counts are MiB; a unit suffix on a weight
/// rescales it (<c>Mem=0.25G</c> is 0.25 per GiB, <c>Mem=0.25</c> per MiB). Computation is exact decimal; Slurm keeps a
/// double and truncates the <c>billing=</c> TRES to an integer in accounting, CompGrid does not truncate.
/// </summary>
public sealed class TresBillingWeights
{
    private readonly Dictionary<string, (decimal Weight, decimal Divisor)> _weights;

    private TresBillingWeights(Dictionary<string, (decimal, decimal)> weights) => _weights = weights;

    /// <summary>The TRES names (lower case, such as <c>cpu</c>, <c>mem</c>, <c>gres/gpu</c>) with their weight per unit of count.</summary>
    public IReadOnlyDictionary<string, decimal> Weights => _weights.ToDictionary(kv => kv.Key, kv => kv.Value.Weight / kv.Value.Divisor, StringComparer.Ordinal);

    /// <summary>Parses Slurm's syntax; throws <see cref="FormatException"/> naming the bad item.</summary>
    public static TresBillingWeights Parse(string weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var map = new Dictionary<string, (decimal, decimal)>(StringComparer.Ordinal);
        foreach (var raw in weights.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = raw.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || eq == raw.Length - 1)
                throw new FormatException($"TRES billing weight '{raw}' must look like TYPE=WEIGHT (for example CPU=1.0 or Mem=0.25G).");
            var name = raw[..eq].Trim().ToLowerInvariant();
            var value = raw[(eq + 1)..].Trim();
            decimal divisor = 1;
            var suffix = char.ToUpperInvariant(value[^1]);
            if (char.IsLetter(suffix))
            {
                divisor = suffix switch
                {
                    'K' => 1m / 1024m,
                    'M' => 1m,
                    'G' => 1024m,
                    'T' => 1024m * 1024m,
                    'P' => 1024m * 1024m * 1024m,
                    _ => throw new FormatException($"TRES billing weight '{raw}' has unknown unit '{value[^1]}' (use K, M, G, T or P)."),
                };
                value = value[..^1];
            }
            if (!decimal.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var w) || w < 0)
                throw new FormatException($"TRES billing weight '{raw}' must have a non-negative number as its weight.");
            map[name] = (w, divisor);
        }
        return new TresBillingWeights(map);
    }

    /// <summary>
    /// The billing units of an allocation. <paramref name="counts"/> holds TRES counts by name (case-insensitive):
    /// <c>cpu</c>, <c>mem</c> in MiB, <c>node</c>, <c>gres/gpu</c>, <c>gres/gpu:a100</c>, <c>license/x</c>, … A TRES
    /// without a weight counts 0; the <c>billing</c> TRES itself is skipped.
    /// </summary>
    public decimal Compute(IReadOnlyDictionary<string, decimal> counts, TresBillingMode mode = TresBillingMode.Sum)
    {
        ArgumentNullException.ThrowIfNull(counts);
        decimal sum = 0, nodeMax = 0, gresSum = 0, cpuMemNodeMax = 0;
        foreach (var (rawName, count) in counts)
        {
            var name = rawName.ToLowerInvariant();
            if (name == "billing" || !_weights.TryGetValue(name, out var w)) continue;
            var weighted = count * w.Weight / w.Divisor;
            var isGres = name.StartsWith("gres/", StringComparison.Ordinal);
            var isCpuMemNode = name is "cpu" or "mem" or "node";
            if (mode == TresBillingMode.Max && (isGres || isCpuMemNode)) nodeMax = Math.Max(nodeMax, weighted);
            else if (mode == TresBillingMode.MaxGres && isCpuMemNode) cpuMemNodeMax = Math.Max(cpuMemNodeMax, weighted);
            else if (mode == TresBillingMode.MaxGres && isGres) gresSum += weighted;
            else sum += weighted;
        }
        return sum + nodeMax + gresSum + cpuMemNodeMax;
    }

    /// <summary>The TRES counts of an allocation: cpu, mem (MiB), node, and gres/gpu (plus gres/gpu:MODEL when the model is known).</summary>
    public static Dictionary<string, decimal> Counts(int cpus, long memoryMiB, int nodes, int gpus = 0, string? gpuModel = null)
    {
        var counts = new Dictionary<string, decimal>(StringComparer.OrdinalIgnoreCase)
        {
            ["cpu"] = cpus, ["mem"] = memoryMiB, ["node"] = nodes,
        };
        if (gpus > 0)
        {
            counts["gres/gpu"] = gpus;
            if (!string.IsNullOrEmpty(gpuModel)) counts["gres/gpu:" + gpuModel.ToLowerInvariant()] = gpus;
        }
        return counts;
    }

    /// <inheritdoc/>
    public override string ToString() =>
        string.Join(',', _weights.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key}={kv.Value.Weight}{(kv.Value.Divisor == 1024m ? "G" : "")}")));
}

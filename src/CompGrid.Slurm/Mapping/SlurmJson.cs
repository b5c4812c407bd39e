using System.Globalization;
using System.Text.Json;

namespace CompGrid.Slurm.Mapping;

/// <summary>
/// Tolerant readers for Slurm's JSON (slurmrestd, <c>sinfo --json</c>): numbers may be plain, numeric strings or
/// <c>{set, infinite, number}</c> structs (v0.0.40+); states may be strings or arrays.
/// </summary>
internal static class SlurmJson
{
    public static JsonElement? Prop(this JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined) ? v : null;

    public static string? Str(this JsonElement e, string name) => e.Prop(name) is { } v ? AsString(v) : null;

    public static string? AsString(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => v.GetString(),
        JsonValueKind.Number => v.GetRawText(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Array => v.GetArrayLength() == 0 ? null : string.Join(',', v.EnumerateArray().Select(AsString)),
        _ => null,
    };

    public static long? Long(this JsonElement e, string name) => e.Prop(name) is { } v ? AsLong(v) : null;

    public static long? AsLong(JsonElement v)
    {
        switch (v.ValueKind)
        {
            case JsonValueKind.Number:
                if (v.TryGetInt64(out long l)) return l;
                return v.TryGetDouble(out double d) && !double.IsInfinity(d) ? (long)d : null;
            case JsonValueKind.String:
                return long.TryParse(v.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long s) ? s : null;
            case JsonValueKind.Object:
                if (v.Prop("set") is { ValueKind: JsonValueKind.False }) return null;
                if (v.Prop("infinite") is { ValueKind: JsonValueKind.True }) return null;
                return v.Prop("number") is { } n ? AsLong(n) : null;
            default:
                return null;
        }
    }

    /// <summary>The first state of a string (<c>"RUNNING"</c>) or array (<c>["RUNNING","COMPLETING"]</c>) state.</summary>
    public static string? State(this JsonElement e, string name)
    {
        if (e.Prop(name) is not { } v) return null;
        if (v.ValueKind == JsonValueKind.Array) return v.GetArrayLength() > 0 ? AsString(v[0]) : null;
        if (v.ValueKind == JsonValueKind.Object) return v.State("current");
        return AsString(v);
    }

    /// <summary>Epoch seconds → time; 0 and sentinels give null.</summary>
    public static DateTimeOffset? Time(this JsonElement e, string name) =>
        e.Long(name) is { } s && s > 0 && s < 4_000_000_000 ? DateTimeOffset.FromUnixTimeSeconds(s) : null;

    /// <summary>
    /// Node inventory from a v0.0.38 <c>nodes</c> array (slurmrestd <c>/nodes</c> or <c>sinfo --json</c> on 22.05),
    /// also reading the v0.0.40+ spellings where they differ.
    /// </summary>
    public static IReadOnlyList<NodeInfo> ParseNodes(JsonElement root, string backendName)
    {
        var result = new List<NodeInfo>();
        if (root.Prop("nodes") is not { ValueKind: JsonValueKind.Array } nodes) return result;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var n in nodes.EnumerateArray())
        {
            string? name = n.Str("name");
            if (name is null || !seen.Add(name)) continue;
            var states = new List<string>();
            if (n.Prop("state") is { } st)
            {
                if (st.ValueKind == JsonValueKind.Array) states.AddRange(st.EnumerateArray().Select(x => AsString(x) ?? ""));
                else states.Add(AsString(st) ?? "");
            }
            if (n.Prop("state_flags") is { ValueKind: JsonValueKind.Array } flags) states.AddRange(flags.EnumerateArray().Select(x => AsString(x) ?? ""));
            string native = string.Join('+', states.Where(s => s.Length > 0)).ToUpperInvariant();

            int cpus = (int)(n.Long("cpus") ?? 0);
            int allocCpus = (int)(n.Long("alloc_cpus") ?? 0);
            long mem = n.Long("real_memory") ?? 0;
            long allocMem = n.Long("alloc_memory") ?? 0;
            var (gpus, model) = ParseGres(n.Str("gres"));
            var (gpusUsed, _) = ParseGres(n.Str("gres_used"));
            var partitions = n.Prop("partitions") is { ValueKind: JsonValueKind.Array } parts
                ? parts.EnumerateArray().Select(AsString).OfType<string>().ToList()
                : (n.Str("partitions") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries).ToList();
            string features = n.Str("active_features") ?? n.Str("features") ?? "";
            result.Add(new NodeInfo
            {
                Name = name,
                Backend = backendName,
                Capacity = new NodeResources(cpus, mem, gpus),
                Free = new NodeResources(Math.Max(0, cpus - allocCpus), Math.Max(0, mem - allocMem), Math.Max(0, gpus - gpusUsed)),
                Features = features.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                GpuModel = model,
                Partitions = partitions,
                State = MapNodeState(native),
                NativeState = native,
                Reason = n.Str("reason") is { Length: > 0 } reason ? reason : null,
            });
        }
        return result;
    }

    /// <summary>Node state words (idle, mixed, allocated, down, drain, …) → <see cref="NodeState"/>.</summary>
    public static NodeState MapNodeState(string native)
    {
        var words = native.ToUpperInvariant().Split(['+', ',', ' '], StringSplitOptions.RemoveEmptyEntries);
        bool Has(string w) => words.Contains(w, StringComparer.Ordinal);
        if (Has("POWERED_DOWN") || Has("POWER_DOWN") || Has("POWERING_DOWN")) return NodeState.PoweredOff;
        if (Has("DOWN") || Has("FAIL") || Has("NOT_RESPONDING") || Has("UNKNOWN") || Has("FUTURE") || Has("INVAL") || Has("ERROR")) return NodeState.Down;
        if (Has("DRAIN") || Has("DRAINED") || Has("DRAINING") || Has("MAINTENANCE") || Has("REBOOT_REQUESTED") || Has("RESERVED")) return NodeState.Draining;
        return NodeState.Up;
    }

    /// <summary>Counts GPUs in a gres string such as <c>gpu:2</c>, <c>gpu:a100:4(S:0-1)</c>, <c>gpu:1(IDX:0)</c>.</summary>
    public static (int Count, string? Model) ParseGres(string? gres)
    {
        if (string.IsNullOrWhiteSpace(gres) || gres is "(null)" or "N/A") return (0, null);
        int total = 0;
        string? model = null;
        foreach (string item in SplitGres(gres))
        {
            string g = item.Trim();
            int paren = g.IndexOf('(', StringComparison.Ordinal);
            if (paren >= 0) g = g[..paren];
            if (g.StartsWith("gres/", StringComparison.Ordinal)) g = g[5..];
            var parts = g.Split(':');
            if (parts.Length == 0 || parts[0] != "gpu") continue;
            if (parts.Length == 2 && int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int c)) total += c;
            else if (parts.Length >= 3 && int.TryParse(parts[^1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int c2))
            {
                total += c2;
                model ??= parts[1];
            }
            else if (parts.Length == 1) total += 1;
        }
        return (total, model);
    }

    private static IEnumerable<string> SplitGres(string gres)
    {
        int depth = 0, start = 0;
        for (int i = 0; i < gres.Length; i++)
        {
            if (gres[i] == '(') depth++;
            else if (gres[i] == ')') depth--;
            else if (gres[i] == ',' && depth == 0)
            {
                yield return gres[start..i];
                start = i + 1;
            }
        }
        yield return gres[start..];
    }
}

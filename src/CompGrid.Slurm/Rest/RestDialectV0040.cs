using System.Globalization;
using System.Text.Json;
using CompGrid.Slurm.Mapping;

namespace CompGrid.Slurm.Rest;

/// <summary>v0.0.40 / dbv0.0.40 (Slurm 23.11, 24.05, 24.11): the submit response also carries <c>result</c>; a cancel reports no per-job outcome.</summary>
internal sealed class RestDialectV0040 : RestDialectV004x
{
    public override string Version => "v0.0.40";

    public override string? ParseSubmittedJobId(JsonElement root) =>
        base.ParseSubmittedJobId(root) ?? root.Prop("result")?.Long("job_id")?.ToString(CultureInfo.InvariantCulture);
}

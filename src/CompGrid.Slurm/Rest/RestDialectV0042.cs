using System.Globalization;
using System.Text.Json;
using CompGrid.Slurm.Mapping;

namespace CompGrid.Slurm.Rest;

/// <summary>v0.0.42 (Slurm 24.11, 25.05): <c>exclusive</c> gone (<c>shared</c> stays); a cancel answers 200 with <c>status[].error</c> per job.</summary>
internal sealed class RestDialectV0042 : RestDialectV004x
{
    public override string Version => "v0.0.42";

    public override IReadOnlyList<RestError> ParseCancelErrors(JsonElement root)
    {
        if (root.Prop("status") is not { ValueKind: JsonValueKind.Array } status) return [];
        var errors = new List<RestError>();
        foreach (var s in status.EnumerateArray())
            if (s.Prop("error") is { } e && e.Long("code") is { } code and not 0)
                errors.Add(new RestError((int)code, e.Str("string"), e.Str("message"), "kill_jobs"));
        return errors;
    }
}

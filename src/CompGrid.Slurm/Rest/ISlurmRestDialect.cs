using System.Text.Json;
using System.Text.Json.Nodes;
using CompGrid.Slurm.Mapping;

namespace CompGrid.Slurm.Rest;

/// <summary>
/// One slurmrestd API version: its paths and its request/response shapes. Everything version-specific lives behind this
/// interface: <see cref="RestDialectV0038"/> (Slurm 22.05) and the v0.0.40+ family (<see cref="RestDialectV004x"/>),
/// each version a class registered in <see cref="SlurmRestDialects"/>, without touching the client or the backend.
/// </summary>
internal interface ISlurmRestDialect
{
    /// <summary>The version in the URL, for example <c>v0.0.38</c>.</summary>
    string Version { get; }

    string PingPath { get; }
    string SubmitPath { get; }
    string JobsPath { get; }
    string NodesPath { get; }
    string JobPath(string jobId);
    string AccountingJobPath(string jobId);

    /// <summary>The submit request body.</summary>
    JsonObject BuildSubmitBody(SlurmJobDefinition job);

    /// <summary>The job id in a submit response, or null.</summary>
    string? ParseSubmittedJobId(JsonElement root);

    /// <summary>The jobs of a <c>job/{id}</c> or <c>jobs</c> response.</summary>
    IReadOnlyList<SlurmJobInfo> ParseJobs(JsonElement root);

    /// <summary>The nodes of a <c>nodes</c> response.</summary>
    IReadOnlyList<NodeInfo> ParseNodes(JsonElement root, string backendName);

    /// <summary>The accounting record of one job from a slurmdb <c>job/{id}</c> response, or null.</summary>
    SlurmAccountingRecord? ParseAccounting(JsonElement root, string jobId);

    /// <summary>
    /// Per-job errors a successful (HTTP 200) cancel reports in its body (v0.0.42: <c>status[].error</c>, e.g. 2017
    /// unknown job, 2021 already ended); empty where the version reports none.
    /// </summary>
    IReadOnlyList<RestError> ParseCancelErrors(JsonElement root);

    /// <summary>Whether the errors mean "no such job" (slurmctld: purged or unknown; slurmdbd: nothing found).</summary>
    bool IsNotFound(int httpStatus, IReadOnlyList<RestError> errors);
}

/// <summary>One entry of a response's <c>errors[]</c>.</summary>
internal sealed record RestError(int? Number, string? Error, string? Description, string? Source)
{
    public override string ToString() => string.Join(": ", new[] { Error, Description }.Where(s => !string.IsNullOrEmpty(s)).Distinct());

    public static IReadOnlyList<RestError> Parse(JsonElement root)
    {
        if (root.Prop("errors") is not { ValueKind: JsonValueKind.Array } errors) return [];
        return errors.EnumerateArray().Select(e => new RestError(
            (int?)(e.Long("error_number") ?? e.Long("error_code")),
            e.Str("error"),
            e.Str("description"),
            e.Str("source"))).ToList();
    }
}

/// <summary>The REST versions this package speaks, newest first.</summary>
internal static class SlurmRestDialects
{
    public static IReadOnlyList<ISlurmRestDialect> Supported { get; } =
        [new RestDialectV0042(), new RestDialectV0041(), new RestDialectV0040(), new RestDialectV0038()];

    public static ISlurmRestDialect? Find(string version) =>
        Supported.FirstOrDefault(d => string.Equals(d.Version, version.Trim(), StringComparison.OrdinalIgnoreCase));
}

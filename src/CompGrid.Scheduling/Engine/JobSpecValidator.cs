using System.Text.RegularExpressions;

namespace CompGrid;

/// <summary>
/// Checks a <see cref="JobSpec"/> against CompGrid's rules. Every error names the field (as in JSON, camelCase, with
/// dots for nesting) and the rule it broke. Used by the engine before anything is stored.
/// </summary>
public static partial class JobSpecValidator
{
    /// <summary>The longest command line or script accepted, in characters.</summary>
    public const int MaxPayloadLength = 1 << 20;

    /// <summary>Returns the errors of <paramref name="spec"/> (empty when valid) under the given engine limits.</summary>
    public static IReadOnlyList<ValidationError> Validate(JobSpec spec, TimeSpan maxWalltime)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var errors = new List<ValidationError>();
        void Add(string field, string message) => errors.Add(new ValidationError(field, message));

        if (string.IsNullOrWhiteSpace(spec.Name)) Add("name", "must not be empty");
        else if (spec.Name.Length > 128) Add("name", "must be at most 128 characters");
        else if (spec.Name.Any(char.IsControl)) Add("name", "must not contain control characters (newlines, tabs, NUL)");

        if (string.IsNullOrEmpty(spec.Owner)) Add("owner", "is required");
        else if (!UserNameRegex().IsMatch(spec.Owner)) Add("owner", "must be 1-64 characters of letters, digits, '.', '_', '-' or '@', starting with a letter or digit");

        if (spec.Account is not null && !AccountRegex().IsMatch(spec.Account))
            Add("account", "must be 1-64 characters of letters, digits, '.', '_', '-' or '/', starting with a letter or digit");

        ValidatePayload(spec.Payload, Add);

        var r = spec.Resources;
        if (r is null) Add("resources", "is required");
        else
        {
            if (r.Cpus < 1) Add("resources.cpus", "must be at least 1");
            else if (r.Cpus > 100_000) Add("resources.cpus", "must be at most 100000");
            if (r.MemoryMiB < 0) Add("resources.memoryMiB", "must not be negative (0 means the default per CPU)");
            if (r.Gpus < 0) Add("resources.gpus", "must not be negative");
            else if (r.Gpus > 1024) Add("resources.gpus", "must be at most 1024");
            if (r.Nodes < 1) Add("resources.nodes", "must be at least 1");
            else if (r.Nodes > 100_000) Add("resources.nodes", "must be at most 100000");
            if (r.GpuModel is not null)
            {
                if (r.Gpus == 0) Add("resources.gpuModel", "needs resources.gpus of at least 1");
                if (!SimpleNameRegex().IsMatch(r.GpuModel)) Add("resources.gpuModel", "must be 1-64 characters of letters, digits, '.', '_' or '-'");
            }
        }

        if (spec.Walltime is { } w)
        {
            if (w <= TimeSpan.Zero) Add("walltime", "must be positive");
            else if (w > maxWalltime) Add("walltime", $"must be at most {maxWalltime}");
        }

        foreach (var (key, value) in spec.Environment ?? new Dictionary<string, string>())
        {
            if (!EnvNameRegex().IsMatch(key)) Add($"environment.{key}", "name must match [A-Za-z_][A-Za-z0-9_]* (at most 128 characters)");
            else if (value is null) Add($"environment.{key}", "value must not be null");
            else if (value.Contains('\0', StringComparison.Ordinal)) Add($"environment.{key}", "value must not contain NUL");
            else if (value.Length > 32_768) Add($"environment.{key}", "value must be at most 32768 characters");
        }

        foreach (var (key, value) in spec.Labels ?? new Dictionary<string, string>())
        {
            if (!LabelKeyRegex().IsMatch(key)) Add($"labels.{key}", "key must be 1-63 characters of letters, digits, '.', '_', '/' or '-'");
            else if (value is null || value.Length > 256 || value.Any(char.IsControl)) Add($"labels.{key}", "value must be at most 256 characters without control characters");
        }

        if (spec.WorkingDirectory is { } wd && (!wd.StartsWith('/') || wd.Contains('\0', StringComparison.Ordinal) || wd.Any(char.IsControl)))
            Add("workingDirectory", "must be an absolute path without control characters");
        if (spec.OutputDirectory is { } od && (!od.StartsWith('/') || od.Any(char.IsControl)))
            Add("outputDirectory", "must be an absolute path without control characters");

        if (spec.Nice is < -10_000 or > 10_000) Add("nice", "must be between -10000 and 10000");
        if (spec.Qos is not null && !SimpleNameRegex().IsMatch(spec.Qos)) Add("qos", "must be 1-64 characters of letters, digits, '.', '_' or '-'");

        var c = spec.Constraints;
        if (c is not null)
        {
            if (c.Partition is not null && !SimpleNameRegex().IsMatch(c.Partition)) Add("constraints.partition", "must be 1-64 characters of letters, digits, '.', '_' or '-'");
            if (c.Backend is not null && !SimpleNameRegex().IsMatch(c.Backend)) Add("constraints.backend", "must be 1-64 characters of letters, digits, '.', '_' or '-'");
            foreach (string f in c.RequiredFeatures.Concat(c.ForbiddenFeatures))
                if (f is null || !SimpleNameRegex().IsMatch(f)) { Add("constraints.features", $"feature '{f}' must be 1-64 characters of letters, digits, '.', '_' or '-'"); break; }
        }

        for (int i = 0; i < spec.Inputs.Count; i++) ValidateStaging(spec.Inputs[i], $"inputs[{i}]", sourceRelative: false, Add);
        for (int i = 0; i < spec.Outputs.Count; i++) ValidateStaging(spec.Outputs[i], $"outputs[{i}]", sourceRelative: true, Add);

        if (spec.Notifications?.Webhook is { } hook && hook.Scheme is not ("http" or "https"))
            Add("notifications.webhook", "must be an absolute http or https URL");
        return errors;
    }

    private static void ValidatePayload(JobPayload? p, Action<string, string> add)
    {
        if (p is null) { add("payload", "is required: give a command line, a script, an executable or a container image"); return; }
        switch (p.Kind)
        {
            case PayloadKind.CommandLine:
                if (string.IsNullOrWhiteSpace(p.CommandLine)) add("payload.commandLine", "must not be empty");
                else if (p.CommandLine.Length > MaxPayloadLength) add("payload.commandLine", $"must be at most {MaxPayloadLength} characters");
                else if (p.CommandLine.Contains('\0', StringComparison.Ordinal)) add("payload.commandLine", "must not contain NUL");
                break;
            case PayloadKind.Script:
                if (string.IsNullOrWhiteSpace(p.Script)) add("payload.script", "must not be empty");
                else if (p.Script.Length > MaxPayloadLength) add("payload.script", $"must be at most {MaxPayloadLength} characters");
                else if (p.Script.Contains('\0', StringComparison.Ordinal)) add("payload.script", "must not contain NUL");
                if (p.Interpreter is { } interp && (!interp.StartsWith('/') || interp.Any(c => char.IsControl(c) || char.IsWhiteSpace(c))))
                    add("payload.interpreter", "must be an absolute path without spaces or control characters");
                break;
            case PayloadKind.Executable:
                if (string.IsNullOrWhiteSpace(p.Executable)) add("payload.executable", "must not be empty");
                else if (p.Executable.Contains('\0', StringComparison.Ordinal) || p.Executable.Any(char.IsControl)) add("payload.executable", "must not contain control characters");
                break;
            case PayloadKind.Container:
                if (string.IsNullOrWhiteSpace(p.Image)) add("payload.image", "must not be empty");
                else if (!ImageRegex().IsMatch(p.Image)) add("payload.image", "must be an image reference like registry/name:tag or name@sha256:digest");
                break;
            default:
                add("payload.kind", $"'{p.Kind}' is not a payload kind");
                break;
        }
        for (int i = 0; i < p.Arguments.Count; i++)
            if (p.Arguments[i] is null || p.Arguments[i].Contains('\0', StringComparison.Ordinal)) add($"payload.arguments[{i}]", "must not be null or contain NUL");
    }

    private static void ValidateStaging(StagingItem item, string field, bool sourceRelative, Action<string, string> add)
    {
        if (item is null) { add(field, "must not be null"); return; }
        if (sourceRelative ? !StagingItem.IsSafeRelativePath(item.Source) : string.IsNullOrEmpty(item.Source) || item.Source.Any(char.IsControl))
            add($"{field}.source", sourceRelative ? "must be a relative path inside the working directory (no '..', not absolute)" : "must be a path without control characters");
        if (!StagingItem.IsSafeRelativePath(item.Destination))
            add($"{field}.destination", "must be a relative path (no '..', not absolute)");
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")]
    private static partial Regex UserNameRegex();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")]
    private static partial Regex AccountRegex();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex SimpleNameRegex();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
    private static partial Regex EnvNameRegex();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$")]
    private static partial Regex LabelKeyRegex();

    [GeneratedRegex(@"^[a-z0-9]+([._/:-][a-zA-Z0-9]+)*(@sha256:[a-f0-9]{64})?$")]
    private static partial Regex ImageRegex();
}

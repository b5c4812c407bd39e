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

    /// <summary>The most CPUs per node.</summary>
    public const int MaxCpusPerNode = 100_000;

    /// <summary>The most nodes of one job.</summary>
    public const int MaxNodes = 100_000;

    /// <summary>The most GPUs per node.</summary>
    public const int MaxGpusPerNode = 1024;

    /// <summary>The most CPUs of one job (per node × nodes): well inside <see cref="int"/>, so totals never wrap.</summary>
    public const int MaxTotalCpus = 10_000_000;

    /// <summary>The most GPUs of one job (per node × nodes).</summary>
    public const int MaxTotalGpus = 1_000_000;

    /// <summary>The most memory per node, in MiB (64 TiB).</summary>
    public const long MaxMemoryMiBPerNode = 1L << 26;

    /// <summary>The most memory of one job (per node × nodes), in MiB (64 PiB).</summary>
    public const long MaxTotalMemoryMiB = 1L << 36;

    /// <summary>The most environment variables of one job.</summary>
    public const int MaxEnvironmentVariables = 1024;

    /// <summary>The most characters of all environment names and values together.</summary>
    public const int MaxEnvironmentLength = 1 << 20;

    /// <summary>The most labels of one job.</summary>
    public const int MaxLabels = 64;

    /// <summary>The most payload arguments of one job.</summary>
    public const int MaxArguments = 4096;

    /// <summary>The most staged inputs or outputs of one job, and the most required or forbidden node features.</summary>
    public const int MaxItems = 1024;

    /// <summary>The longest path (working, output directory, executable, interpreter, staging source), in characters.</summary>
    public const int MaxPathLength = 4096;

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
            bool cpusOk = false, nodesOk = false, gpusOk = false, memoryOk = false;
            if (r.Cpus < 1) Add("resources.cpus", "must be at least 1");
            else if (r.Cpus > MaxCpusPerNode) Add("resources.cpus", $"must be at most {MaxCpusPerNode}");
            else cpusOk = true;
            if (r.MemoryMiB < 0) Add("resources.memoryMiB", "must not be negative (0 means the default per CPU)");
            else if (r.MemoryMiB > MaxMemoryMiBPerNode) Add("resources.memoryMiB", $"must be at most {MaxMemoryMiBPerNode} MiB per node");
            else memoryOk = true;
            if (r.Gpus < 0) Add("resources.gpus", "must not be negative");
            else if (r.Gpus > MaxGpusPerNode) Add("resources.gpus", $"must be at most {MaxGpusPerNode}");
            else gpusOk = true;
            if (r.Nodes < 1) Add("resources.nodes", "must be at least 1");
            else if (r.Nodes > MaxNodes) Add("resources.nodes", $"must be at most {MaxNodes}");
            else nodesOk = true;
            // Totals in long, checked here, so that no later product (TotalCpus, a quote, a hold) can wrap.
            if (nodesOk)
            {
                if (cpusOk && (long)r.Cpus * r.Nodes > MaxTotalCpus)
                    Add("resources.cpus", $"cpus × nodes = {(long)r.Cpus * r.Nodes} is more than the {MaxTotalCpus} CPUs one job may have");
                if (gpusOk && (long)r.Gpus * r.Nodes > MaxTotalGpus)
                    Add("resources.gpus", $"gpus × nodes = {(long)r.Gpus * r.Nodes} is more than the {MaxTotalGpus} GPUs one job may have");
                if (memoryOk && r.MemoryMiB * r.Nodes > MaxTotalMemoryMiB)
                    Add("resources.memoryMiB", $"memoryMiB × nodes = {r.MemoryMiB * r.Nodes} is more than the {MaxTotalMemoryMiB} MiB one job may have");
            }
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

        var environment = spec.Environment ?? new Dictionary<string, string>();
        if (environment.Count > MaxEnvironmentVariables) Add("environment", $"must have at most {MaxEnvironmentVariables} variables");
        else
        {
            long environmentLength = 0;
            foreach (var (key, value) in environment)
            {
                environmentLength += key.Length + (value?.Length ?? 0);
                if (!EnvNameRegex().IsMatch(key)) Add($"environment.{Shorten(key)}", "name must match [A-Za-z_][A-Za-z0-9_]* (at most 128 characters)");
                else if (value is null) Add($"environment.{key}", "value must not be null");
                else if (value.Contains('\0', StringComparison.Ordinal)) Add($"environment.{key}", "value must not contain NUL");
                else if (value.Length > 32_768) Add($"environment.{key}", "value must be at most 32768 characters");
            }
            if (environmentLength > MaxEnvironmentLength) Add("environment", $"names and values must be at most {MaxEnvironmentLength} characters in all");
        }

        var labels = spec.Labels ?? new Dictionary<string, string>();
        if (labels.Count > MaxLabels) Add("labels", $"must have at most {MaxLabels} labels");
        else
        {
            foreach (var (key, value) in labels)
            {
                if (!LabelKeyRegex().IsMatch(key)) Add($"labels.{Shorten(key)}", "key must be 1-63 characters of letters, digits, '.', '_', '/' or '-'");
                else if (value is null || value.Length > 256 || value.Any(char.IsControl)) Add($"labels.{key}", "value must be at most 256 characters without control characters");
            }
        }

        if (spec.WorkingDirectory is { } wd && (!wd.StartsWith('/') || wd.Length > MaxPathLength || wd.Any(char.IsControl)))
            Add("workingDirectory", $"must be an absolute path of at most {MaxPathLength} characters without control characters");
        if (spec.OutputDirectory is { } od && (!od.StartsWith('/') || od.Length > MaxPathLength || od.Any(char.IsControl)))
            Add("outputDirectory", $"must be an absolute path of at most {MaxPathLength} characters without control characters");

        if (spec.Nice is < -10_000 or > 10_000) Add("nice", "must be between -10000 and 10000");
        if (spec.Qos is not null && !SimpleNameRegex().IsMatch(spec.Qos)) Add("qos", "must be 1-64 characters of letters, digits, '.', '_' or '-'");

        var c = spec.Constraints;
        if (c is not null)
        {
            if (c.Partition is not null && !SimpleNameRegex().IsMatch(c.Partition)) Add("constraints.partition", "must be 1-64 characters of letters, digits, '.', '_' or '-'");
            if (c.Backend is not null && !SimpleNameRegex().IsMatch(c.Backend)) Add("constraints.backend", "must be 1-64 characters of letters, digits, '.', '_' or '-'");
            IReadOnlyList<string> required = c.RequiredFeatures ?? [], forbidden = c.ForbiddenFeatures ?? [];
            if (required.Count + forbidden.Count > MaxItems) Add("constraints.features", $"must name at most {MaxItems} features");
            else
            {
                foreach (string f in required.Concat(forbidden))
                    if (f is null || !SimpleNameRegex().IsMatch(f)) { Add("constraints.features", $"feature '{Shorten(f ?? "")}' must be 1-64 characters of letters, digits, '.', '_' or '-'"); break; }
            }
        }

        IReadOnlyList<StagingItem> inputs = spec.Inputs ?? [], outputs = spec.Outputs ?? [];
        if (inputs.Count > MaxItems) Add("inputs", $"must have at most {MaxItems} items");
        else for (int i = 0; i < inputs.Count; i++) ValidateStaging(inputs[i], $"inputs[{i}]", sourceRelative: false, Add);
        if (outputs.Count > MaxItems) Add("outputs", $"must have at most {MaxItems} items");
        else for (int i = 0; i < outputs.Count; i++) ValidateStaging(outputs[i], $"outputs[{i}]", sourceRelative: true, Add);

        // A relative Uri (JSON "x") has no Scheme: reading it throws, so ask IsAbsoluteUri first.
        if (spec.Notifications?.Webhook is { } hook && (!hook.IsAbsoluteUri || hook.Scheme is not ("http" or "https") || hook.OriginalString.Length > MaxPathLength))
            Add("notifications.webhook", $"must be an absolute http or https URL of at most {MaxPathLength} characters");
        if (spec.Notifications?.Email is { } email && !IsOneEmailAddress(email))
            Add("notifications.email", "must be one e-mail address (name@domain) of at most 254 characters, without a display name or line breaks");
        return errors;
    }

    // One bare mailbox: MailAddress parses it and gives back exactly the text (no display name, no list, no CR/LF).
    private static bool IsOneEmailAddress(string email) =>
        email.Length is > 0 and <= 254 && !email.Any(char.IsControl)
        && System.Net.Mail.MailAddress.TryCreate(email, out var parsed) && parsed.Address == email && parsed.Host.Length > 0;

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
                if (p.Interpreter is { } interp && (!interp.StartsWith('/') || interp.Length > MaxPathLength || interp.Any(c => char.IsControl(c) || char.IsWhiteSpace(c))))
                    add("payload.interpreter", $"must be an absolute path of at most {MaxPathLength} characters without spaces or control characters");
                break;
            case PayloadKind.Executable:
                if (string.IsNullOrWhiteSpace(p.Executable)) add("payload.executable", "must not be empty");
                else if (p.Executable.Length > MaxPathLength) add("payload.executable", $"must be at most {MaxPathLength} characters");
                else if (p.Executable.Any(char.IsControl)) add("payload.executable", "must not contain control characters");
                break;
            case PayloadKind.Container:
                if (string.IsNullOrWhiteSpace(p.Image)) add("payload.image", "must not be empty");
                else if (p.Image.Length > 512 || !ImageRegex().IsMatch(p.Image)) add("payload.image", "must be an image reference like registry/name:tag or name@sha256:digest");
                break;
            default:
                add("payload.kind", $"'{p.Kind}' is not a payload kind");
                break;
        }
        IReadOnlyList<string> arguments = p.Arguments ?? [];
        if (arguments.Count > MaxArguments) { add("payload.arguments", $"must have at most {MaxArguments} arguments"); return; }
        long argumentsLength = 0;
        for (int i = 0; i < arguments.Count; i++)
        {
            argumentsLength += arguments[i]?.Length ?? 0;
            if (arguments[i] is null || arguments[i].Contains('\0', StringComparison.Ordinal)) add($"payload.arguments[{i}]", "must not be null or contain NUL");
        }
        if (argumentsLength > MaxPayloadLength) add("payload.arguments", $"must be at most {MaxPayloadLength} characters in all");
    }

    private static void ValidateStaging(StagingItem item, string field, bool sourceRelative, Action<string, string> add)
    {
        if (item is null) { add(field, "must not be null"); return; }
        if (sourceRelative ? !StagingItem.IsSafeRelativePath(item.Source) : string.IsNullOrEmpty(item.Source) || item.Source.Length > MaxPathLength || item.Source.Any(char.IsControl))
            add($"{field}.source", sourceRelative ? "must be a relative path inside the working directory (no '..', not absolute)" : "must be a path without control characters");
        if (!StagingItem.IsSafeRelativePath(item.Destination))
            add($"{field}.destination", "must be a relative path (no '..', not absolute)");
    }

    // An invalid key is echoed in the field name: keep that short.
    private static string Shorten(string key) => key.Length <= 64 ? key : key[..64] + "…";

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

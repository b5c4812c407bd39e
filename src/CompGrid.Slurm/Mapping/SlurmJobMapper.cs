using System.Text;
using System.Text.RegularExpressions;

namespace CompGrid.Slurm.Mapping;

/// <summary>Turns a <see cref="BackendJobRequest"/> into a <see cref="SlurmJobDefinition"/>, validating what Slurm would otherwise interpret.</summary>
internal static partial class SlurmJobMapper
{
    public const string CommentPrefix = "compgrid:";
    private const int MaxNameLength = 100;

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex JobIdRegex();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex EnvNameRegex();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex SlurmNameRegex();

    [GeneratedRegex("^[0-9]+(_[0-9]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex BackendJobIdRegex();

    /// <summary>Whether <paramref name="id"/> looks like a Slurm job id (digits, or <c>123_4</c> for an array task).</summary>
    public static bool IsValidBackendJobId(string? id) => id is not null && BackendJobIdRegex().IsMatch(id);

    /// <summary>The CompGrid job id in a job comment <c>compgrid:&lt;id&gt;</c>, or null.</summary>
    public static string? ParseComment(string? comment)
    {
        if (comment is null) return null;
        comment = comment.Trim();
        if (!comment.StartsWith(CommentPrefix, StringComparison.Ordinal)) return null;
        string id = comment[CommentPrefix.Length..];
        int ws = id.IndexOfAny([' ', '\t', ',', ';']);
        if (ws >= 0) id = id[..ws];
        return id.Length == 0 ? null : id;
    }

    /// <summary>A job name Slurm shows safely everywhere: letters, digits, '.', '_' and '-' are kept, anything else becomes '_'.</summary>
    public static string SanitizeName(string? name)
    {
        if (string.IsNullOrEmpty(name)) return "job";
        var sb = new StringBuilder(Math.Min(name.Length, MaxNameLength));
        foreach (char c in name)
        {
            if (sb.Length >= MaxNameLength) break;
            sb.Append(c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '_' or '-' ? c : '_');
        }
        return sb.ToString();
    }

    /// <summary>The path of a job's standard output file (<c>%j</c> expanded by Slurm at submission, by us when reading).</summary>
    /// <summary>Whether a Slurm user name means root: <c>root</c>, or a numeric uid 0 (<c>0</c>, <c>00</c>…).</summary>
    public static bool IsRootUser(string user) =>
        string.Equals(user.Trim(), "root", StringComparison.OrdinalIgnoreCase) || (user.Length > 0 && user.All(c => c == '0'));

    /// <summary>The name of a job's output file in the output directory (the job id is checked to be numeric first).</summary>
    public static string OutputFileName(string backendJobId, bool stderr) => $"compgrid-{backendJobId}.{(stderr ? "err" : "out")}";

    public static SlurmJobDefinition Map(BackendJobRequest request, SlurmBackendOptions options)
    {
        ArgumentNullException.ThrowIfNull(request);
        var spec = request.Spec;
        var errors = new List<ValidationError>();
        if (!JobIdRegex().IsMatch(request.JobId ?? ""))
            errors.Add(new("jobId", "must be 1-128 characters of letters, digits, '.', '_', ':' and '-', starting with a letter or digit"));

        var payload = spec.Payload;
        if (payload is null) errors.Add(new("payload", "is required"));
        else
        {
            switch (payload.Kind)
            {
                case PayloadKind.CommandLine when string.IsNullOrWhiteSpace(payload.CommandLine):
                    errors.Add(new("payload.commandLine", "is required for a command-line payload")); break;
                case PayloadKind.Script when string.IsNullOrEmpty(payload.Script):
                    errors.Add(new("payload.script", "is required for a script payload")); break;
                case PayloadKind.Executable when string.IsNullOrWhiteSpace(payload.Executable):
                    errors.Add(new("payload.executable", "is required for an executable payload")); break;
                case PayloadKind.Container:
                    errors.Add(new("payload.kind", "the Slurm backend does not run container payloads")); break;
            }
            if (ContainsNul(payload.CommandLine) || ContainsNul(payload.Script) || ContainsNul(payload.Executable) ||
                ContainsNul(payload.Interpreter) || payload.Arguments.Any(ContainsNul))
                errors.Add(new("payload", "must not contain NUL characters"));
            if (payload.Interpreter is { } interp && (interp.Length == 0 || HasControl(interp)))
                errors.Add(new("payload.interpreter", "must be a path without control characters"));
        }

        foreach (var (name, value) in spec.Environment)
        {
            if (!EnvNameRegex().IsMatch(name)) errors.Add(new($"environment.{name}", "names must match [A-Za-z_][A-Za-z0-9_]*"));
            else if (name.StartsWith("SLURM_", StringComparison.Ordinal) || name == "COMPGRID_JOB_ID")
                errors.Add(new($"environment.{name}", "SLURM_* and COMPGRID_JOB_ID are set by the backend"));
            if (ContainsNul(value)) errors.Add(new($"environment.{name}", "values must not contain NUL characters"));
        }

        var r = spec.Resources;
        if (r.Nodes < 1) errors.Add(new("resources.nodes", "must be at least 1"));
        if (r.Cpus < 1) errors.Add(new("resources.cpus", "must be at least 1"));
        if (r.Gpus < 0) errors.Add(new("resources.gpus", "must not be negative"));
        if (r.GpuModel is { } model && !SlurmNameRegex().IsMatch(model))
            errors.Add(new("resources.gpuModel", "must be letters, digits, '.', '_' and '-'"));

        string? partition = spec.Constraints.Partition is { } p
            ? options.PartitionMapping.GetValueOrDefault(p, p)
            : r.Gpus > 0 && options.GpuPartition is not null ? options.GpuPartition : options.DefaultPartition;
        string? account = spec.Account is { } a ? options.AccountMapping.GetValueOrDefault(a, a) : options.DefaultAccount;
        CheckName(errors, "constraints.partition", partition);
        CheckName(errors, "account", account);
        CheckName(errors, "qos", spec.Qos);
        foreach (string f in spec.Constraints.RequiredFeatures) CheckName(errors, "constraints.requiredFeatures", f);
        if (spec.Constraints.ForbiddenFeatures.Count > 0)
            errors.Add(new("constraints.forbiddenFeatures", "is not supported by the Slurm backend (Slurm constraints cannot exclude features)"));

        if (spec.WorkingDirectory is { } wd && (!wd.StartsWith('/') || HasControl(wd)))
            errors.Add(new("workingDirectory", "must be an absolute path without control characters"));

        TimeSpan walltime = request.Walltime > TimeSpan.Zero ? request.Walltime : spec.Walltime ?? TimeSpan.Zero;
        if (walltime <= TimeSpan.Zero) errors.Add(new("walltime", "must be positive"));

        string? user = null;
        if (options.Transport == SlurmTransport.Rest && options.SubmitAsJobOwner)
        {
            // Explicit mapping only: an owner name is the portal's, not proof of a Slurm account.
            if (!options.UserMapping.TryGetValue(spec.Owner, out user))
                errors.Add(new("owner", $"'{spec.Owner}' has no entry in UserMapping; with SubmitAsJobOwner only mapped owners can submit"));
            else if (IsRootUser(user))
                errors.Add(new("owner", $"maps to '{user}'; jobs are never submitted as root (user root or uid 0)"));
            else if (!SlurmNameRegex().IsMatch(user))
                errors.Add(new("owner", "must map to a Slurm user name (letters, digits, '.', '_', '-')"));
        }

        if (errors.Count > 0) throw new JobValidationException(errors) { Operation = "submit", JobId = request.JobId };

        string outputDirectory = options.OutputDirectory!.TrimEnd('/');
        string? jobDirectory = spec.WorkingDirectory is null ? $"{outputDirectory}/{request.JobId}" : null;
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PATH"] = "/usr/local/bin:/usr/bin:/bin",
            ["COMPGRID_JOB_ID"] = request.JobId!,
        };
        foreach (var (name, value) in spec.Environment) environment[name] = value;

        return new SlurmJobDefinition
        {
            CompGridJobId = request.JobId!,
            Name = SanitizeName(spec.Name),
            Script = BatchScriptBuilder.Build(request.JobId!, payload!, spec.Environment, jobDirectory),
            Comment = CommentPrefix + request.JobId,
            Account = account,
            Partition = partition,
            Qos = spec.Qos,
            Nodes = r.Nodes,
            CpusPerTask = r.Cpus,
            MemoryMiBPerNode = request.MemoryMiBPerNode > 0 ? request.MemoryMiBPerNode : r.MemoryMiB,
            GpusPerNode = r.Gpus,
            GpuModel = r.GpuModel,
            TimeLimitMinutes = (int)Math.Max(1, Math.Ceiling(walltime.TotalMinutes)),
            Nice = spec.Nice,
            Exclusive = spec.Constraints.Exclusive,
            Constraint = spec.Constraints.RequiredFeatures.Count > 0 ? string.Join('&', spec.Constraints.RequiredFeatures) : null,
            WorkingDirectory = spec.WorkingDirectory ?? outputDirectory,
            StandardOutput = $"{outputDirectory}/compgrid-%j.out",
            StandardError = $"{outputDirectory}/compgrid-%j.err",
            Environment = environment,
            User = user,
        };
    }

    /// <summary>The sbatch argument list (the script goes on standard input).</summary>
    public static IReadOnlyList<string> SbatchArguments(SlurmJobDefinition job)
    {
        var args = new List<string>
        {
            "--parsable",
            "--job-name=" + job.Name,
            "--comment=" + job.Comment,
            "--nodes=" + job.Nodes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--ntasks-per-node=1",
            "--cpus-per-task=" + job.CpusPerTask.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--time=" + job.TimeLimitMinutes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--chdir=" + job.WorkingDirectory,
            "--output=" + job.StandardOutput,
            "--error=" + job.StandardError,
        };
        if (job.MemoryMiBPerNode > 0) args.Add("--mem=" + job.MemoryMiBPerNode.ToString(System.Globalization.CultureInfo.InvariantCulture) + "M");
        if (job.Gres is { } gres) args.Add("--gres=" + gres);
        if (job.Account is { } account) args.Add("--account=" + account);
        if (job.Partition is { } partition) args.Add("--partition=" + partition);
        if (job.Qos is { } qos) args.Add("--qos=" + qos);
        if (job.Nice != 0) args.Add("--nice=" + job.Nice.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (job.Exclusive) args.Add("--exclusive");
        if (job.Constraint is { } constraint) args.Add("--constraint=" + constraint);
        return args;
    }

    private static void CheckName(List<ValidationError> errors, string field, string? value)
    {
        if (value is not null && !SlurmNameRegex().IsMatch(value))
            errors.Add(new(field, "must be a Slurm name: letters, digits, '.', '_' and '-' (at most 128)"));
    }

    private static bool ContainsNul(string? s) => s is not null && s.Contains('\0', StringComparison.Ordinal);

    private static bool HasControl(string s) => s.Any(char.IsControl);
}

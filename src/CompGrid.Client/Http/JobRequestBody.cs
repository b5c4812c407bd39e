namespace CompGrid.Client;

/// <summary>
/// The portal's flat job body (<c>POST /api/jobs</c>, <c>POST /api/quotes</c>) built from a <see cref="JobSpec"/>, and the
/// way back for field names in the portal's errors. What the body cannot carry is refused here, naming the field, rather
/// than dropped: a job must not run differently remotely than it would in-process.
/// </summary>
internal sealed class JobRequestBody
{
    public string? Name { get; set; }
    public string? Command { get; set; }
    public string? Script { get; set; }
    public string? Interpreter { get; set; }
    public string? Executable { get; set; }
    public string? Image { get; set; }
    public IReadOnlyList<string>? Arguments { get; set; }
    public bool Network { get; set; }
    public int Cpus { get; set; }
    public long MemoryMiB { get; set; }
    public int Gpus { get; set; }
    public string? GpuModel { get; set; }
    public int Nodes { get; set; }
    public long? WalltimeSeconds { get; set; }
    public string? Account { get; set; }
    public string? Partition { get; set; }
    public string? Backend { get; set; }
    public string? Qos { get; set; }
    public int Nice { get; set; }
    public IReadOnlyDictionary<string, string>? Environment { get; set; }
    public IReadOnlyDictionary<string, string>? Labels { get; set; }
    public Uri? Webhook { get; set; }

    // Body field → the JobSpec field the engine names in its own errors (the inverse of the portal's mapping).
    private static readonly Dictionary<string, string> SpecFields = new(StringComparer.Ordinal)
    {
        ["cpus"] = "resources.cpus", ["memoryMiB"] = "resources.memoryMiB", ["gpus"] = "resources.gpus", ["gpuModel"] = "resources.gpuModel",
        ["nodes"] = "resources.nodes", ["walltimeSeconds"] = "walltime", ["partition"] = "constraints.partition", ["backend"] = "constraints.backend",
        ["command"] = "payload.commandLine", ["script"] = "payload.script", ["interpreter"] = "payload.interpreter", ["executable"] = "payload.executable",
        ["image"] = "payload.image", ["webhook"] = "notifications.webhook", ["network"] = "payload.network",
    };

    /// <summary>The <see cref="JobSpec"/> field for a field of this body (unknown names are returned as they are).</summary>
    public static string SpecField(string bodyField) =>
        SpecFields.TryGetValue(bodyField, out var f) ? f
        : bodyField.StartsWith("arguments", StringComparison.Ordinal) ? "payload.arguments" + bodyField["arguments".Length..]
        : bodyField;

    /// <summary>The body for <paramref name="spec"/>; throws <see cref="JobValidationException"/> for what HTTP cannot carry.</summary>
    public static JobRequestBody From(JobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var errors = new List<ValidationError>();
        const string why = "is not supported by the portal's HTTP API; submit through the in-process engine to use it";
        if (spec.WorkingDirectory is not null) errors.Add(new("workingDirectory", why));
        if (spec.Inputs.Count > 0) errors.Add(new("inputs", why));
        if (spec.Outputs.Count > 0) errors.Add(new("outputs", why));
        if (spec.OutputDirectory is not null) errors.Add(new("outputDirectory", why));
        if (spec.Constraints.RequiredFeatures.Count > 0) errors.Add(new("constraints.requiredFeatures", why));
        if (spec.Constraints.ForbiddenFeatures.Count > 0) errors.Add(new("constraints.forbiddenFeatures", why));
        if (spec.Constraints.Exclusive) errors.Add(new("constraints.exclusive", why));
        if (spec.Payload?.ReadOnlyRootFilesystem == true) errors.Add(new("payload.readOnlyRootFilesystem", why));
        if (spec.Notifications is { } n && (n.Email is not null || n.OnStates.Count > 0)) errors.Add(new("notifications", "only a webhook " + why[3..]));
        if (spec.Walltime is { } w && (w.Ticks % TimeSpan.TicksPerSecond != 0)) errors.Add(new("walltime", "must be a whole number of seconds over HTTP"));
        if (errors.Count > 0) throw new JobValidationException(errors) { Operation = "submit" };

        var p = spec.Payload;
        return new JobRequestBody
        {
            Name = spec.Name,
            Command = p?.Kind == PayloadKind.CommandLine ? p.CommandLine ?? "" : null,
            Script = p?.Kind == PayloadKind.Script ? p.Script ?? "" : null,
            Interpreter = p?.Kind == PayloadKind.Script ? p.Interpreter : null,
            Executable = p?.Kind == PayloadKind.Executable ? p.Executable ?? "" : null,
            Image = p?.Kind == PayloadKind.Container ? p.Image ?? "" : null,
            Arguments = p is { Kind: PayloadKind.Executable or PayloadKind.Container, Arguments.Count: > 0 } ? p.Arguments : null,
            Network = p?.Network ?? false,
            Cpus = spec.Resources.Cpus,
            MemoryMiB = spec.Resources.MemoryMiB,
            Gpus = spec.Resources.Gpus,
            GpuModel = spec.Resources.GpuModel,
            Nodes = spec.Resources.Nodes,
            WalltimeSeconds = spec.Walltime is { } t ? (long)t.TotalSeconds : null,
            Account = spec.Account,
            Partition = spec.Constraints.Partition,
            Backend = spec.Constraints.Backend,
            Qos = spec.Qos,
            Nice = spec.Nice,
            Environment = spec.Environment.Count > 0 ? spec.Environment : null,
            Labels = spec.Labels.Count > 0 ? spec.Labels : null,
            Webhook = spec.Notifications?.Webhook,
        };
    }
}

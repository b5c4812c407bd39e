namespace CompGrid.SampleHost.Api;

/// <summary>
/// The body of <c>POST /api/jobs</c>: flat and script-friendly. Exactly one payload: <c>command</c> (a shell command
/// line), <c>script</c> (with optional <c>interpreter</c>), <c>executable</c> (with <c>arguments</c>) or <c>image</c>
/// (with <c>arguments</c> as the container command).
/// </summary>
public sealed class JobRequest
{
    public string? Name { get; set; }
    public string? Command { get; set; }
    public string? Script { get; set; }
    public string? Interpreter { get; set; }
    public string? Executable { get; set; }
    public string? Image { get; set; }
    public List<string>? Arguments { get; set; }
    public bool Network { get; set; }
    public int Cpus { get; set; } = 1;
    public long MemoryMiB { get; set; }
    public int Gpus { get; set; }
    public string? GpuModel { get; set; }
    public int Nodes { get; set; } = 1;
    public long? WalltimeSeconds { get; set; }
    public string? Account { get; set; }
    public string? Partition { get; set; }
    public string? Backend { get; set; }
    public string? Qos { get; set; }
    public int Nice { get; set; }
    public Dictionary<string, string>? Environment { get; set; }
    public Dictionary<string, string>? Labels { get; set; }
    public Uri? Webhook { get; set; }

    /// <summary>Uploads copied into the working directory before the job starts (see <c>POST /api/uploads</c>).</summary>
    public List<Files.JobInputRequest>? Inputs { get; set; }

    /// <summary>Files the job leaves, downloadable from <c>/api/jobs/{id}/outputs</c> after it ends.</summary>
    public List<Files.JobOutputRequest>? Outputs { get; set; }

    /// <summary>The largest <see cref="WalltimeSeconds"/> read at all (about 68 years); the engine's own maximum is lower.</summary>
    public const long MaxWalltimeSeconds = int.MaxValue;

    /// <summary>Maps the engine's field names (<c>resources.cpus</c>) to this body's (<c>cpus</c>).</summary>
    public static string FieldName(string engineField) => engineField switch
    {
        "resources.cpus" => "cpus",
        "resources.memoryMiB" => "memoryMiB",
        "resources.gpus" => "gpus",
        "resources.gpuModel" => "gpuModel",
        "resources.nodes" => "nodes",
        "walltime" => "walltimeSeconds",
        "constraints.partition" => "partition",
        "constraints.backend" => "backend",
        "payload.commandLine" => "command",
        "payload.script" => "script",
        "payload.interpreter" => "interpreter",
        "payload.executable" => "executable",
        "payload.image" => "image",
        "notifications.webhook" => "webhook",
        "payload.network" => "network",
        _ when engineField.StartsWith("payload.arguments", StringComparison.Ordinal) => "arguments" + engineField["payload.arguments".Length..],
        _ => engineField,
    };

    /// <summary>Builds the engine's spec for <paramref name="owner"/>, or the errors of the body itself.</summary>
    public JobSpec ToSpec(string owner, List<ValidationError> errors)
    {
        int kinds = new[] { Command, Script, Executable, Image }.Count(p => p is not null);
        JobPayload? payload = null;
        if (kinds != 1)
            errors.Add(new ValidationError("payload", kinds == 0
                ? "is required: give one of command, script, executable or image"
                : "give exactly one of command, script, executable or image"));
        else if (Command is not null) payload = JobPayload.Command(Command);
        else if (Script is not null) payload = JobPayload.FromScript(Script, Interpreter);
        else if (Executable is not null) payload = JobPayload.Exec(Executable, [.. Arguments ?? []]);
        else payload = JobPayload.Container(Image!, [.. Arguments ?? []]) with { Network = Network };
        // TimeSpan.FromSeconds throws past about 29,000 years; the engine's MaxWalltime then applies to what converts.
        if (WalltimeSeconds is <= 0) errors.Add(new ValidationError("walltimeSeconds", "must be positive"));
        else if (WalltimeSeconds > MaxWalltimeSeconds) errors.Add(new ValidationError("walltimeSeconds", $"must be at most {MaxWalltimeSeconds}"));
        return new JobSpec
        {
            Name = Name ?? "job",
            Owner = owner,
            Account = Account,
            Payload = payload,
            Resources = new ResourceRequest { Cpus = Cpus, MemoryMiB = MemoryMiB, Gpus = Gpus, GpuModel = GpuModel, Nodes = Nodes },
            Walltime = WalltimeSeconds is > 0 and <= MaxWalltimeSeconds ? TimeSpan.FromSeconds(WalltimeSeconds.Value) : null,
            Constraints = new JobConstraints { Partition = Partition, Backend = Backend },
            Qos = Qos,
            Nice = Nice,
            Environment = Environment ?? [],
            Labels = Labels ?? [],
            Notifications = Webhook is null ? null : new NotificationSettings { Webhook = Webhook },
        };
    }
}

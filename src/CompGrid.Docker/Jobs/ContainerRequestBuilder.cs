using System.Globalization;
using System.Text;
using CompGrid.Docker.Engine;
using CompGrid.Docker.Staging;

namespace CompGrid.Docker.Jobs;

/// <summary>The label names CompGrid puts on its containers (immutable ownership metadata, filterable in lists and events).</summary>
internal static class DockerLabels
{
    public const string Managed = "compgrid.managed";
    public const string Backend = "compgrid.backend";
    public const string Node = "compgrid.node";
    public const string Job = "compgrid.job";
    public const string Owner = "compgrid.owner";
    public const string Account = "compgrid.account";
    public const string Name = "compgrid.name";
    public const string Cpus = "compgrid.cpus";
    public const string MemoryMiB = "compgrid.memory-mib";
    public const string Gpus = "compgrid.gpus";
    public const string WalltimeSeconds = "compgrid.walltime-seconds";
    public const string Cpuset = "compgrid.cpuset";
    public const string WorkDirectory = "compgrid.workdir";
    public const string OutputDirectory = "compgrid.output-dir";
    public const string Outputs = "compgrid.outputs";
    public const string UserLabelPrefix = "compgrid.label.";

    public static string? Get(IReadOnlyDictionary<string, string>? labels, string key) => labels is not null && labels.TryGetValue(key, out var v) ? v : null;

    public static int GetInt(IReadOnlyDictionary<string, string>? labels, string key) =>
        int.TryParse(Get(labels, key), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : 0;

    public static long GetLong(IReadOnlyDictionary<string, string>? labels, string key) =>
        long.TryParse(Get(labels, key), NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) ? v : 0;
}

/// <summary>What a container job needs besides the create request: its script and staging plan.</summary>
internal sealed record ContainerPlan(
    string Name,
    ContainerCreateRequest Request,
    string WorkDirectory,
    string? VolumePath,
    (string Name, string Text)? Script,
    string OutputDirectory,
    int Uid,
    int Gid);

/// <summary>
/// Validates a <see cref="BackendJobRequest"/> for Docker and turns it into an Engine API create request with the
/// secure defaults: not privileged, all capabilities dropped, no-new-privileges, a non-root user, no network unless
/// asked, limits (NanoCpus, CpusetCpus, Memory = MemorySwap, PidsLimit), GPU DeviceRequests, and ownership labels.
/// </summary>
internal static class ContainerRequestBuilder
{
    public const string ScriptName = ".compgrid-job.sh";
    private const long MinimumMemoryMiB = 6;

    /// <summary>The deterministic container name of a job (<c>cg-&lt;jobid&gt;</c>), so a retried create conflicts instead of duplicating.</summary>
    public static string ContainerName(string jobId)
    {
        var sb = new StringBuilder(jobId.Length + 3);
        foreach (char c in jobId) sb.Append(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-' ? c : '-');
        string cleaned = sb.ToString();
        return cleaned.StartsWith("cg-", StringComparison.Ordinal) ? cleaned : "cg-" + cleaned;
    }

    /// <summary>The problems of a request for this backend (empty when valid).</summary>
    public static List<ValidationError> Validate(BackendJobRequest request, DockerBackendOptions options, string backend, IReadOnlyCollection<string> nodes)
    {
        var errors = new List<ValidationError>();
        var spec = request.Spec;
        if (string.IsNullOrWhiteSpace(request.JobId)) errors.Add(new("jobId", "is required"));
        if (spec.Payload is not { } payload) errors.Add(new("payload", "is required"));
        else if (payload.Kind == PayloadKind.Container)
        {
            if (string.IsNullOrWhiteSpace(payload.Image)) errors.Add(new("payload.image", "is required for a container payload"));
            else if (!ImageReference.IsAllowed(payload.Image, options.AllowedRegistries))
                errors.Add(new("payload.image", $"comes from the registry '{ImageReference.Registry(payload.Image)}', which the Docker backend '{backend}' does not allow (allowed: {string.Join(", ", options.AllowedRegistries)})"));
        }
        else if (options.DefaultImage is null)
            errors.Add(new("payload.kind", $"the Docker backend '{backend}' runs container payloads only; set DockerBackendOptions.DefaultImage to run {payload.Kind} payloads"));
        else if (payload.Kind == PayloadKind.CommandLine && string.IsNullOrWhiteSpace(payload.CommandLine)) errors.Add(new("payload.commandLine", "is required"));
        else if (payload.Kind == PayloadKind.Script && string.IsNullOrEmpty(payload.Script)) errors.Add(new("payload.script", "is required"));
        else if (payload.Kind == PayloadKind.Executable && string.IsNullOrWhiteSpace(payload.Executable)) errors.Add(new("payload.executable", "is required"));

        if (spec.Payload is { Network: true } && options.NetworkMode is null)
            errors.Add(new("payload.network", $"the Docker backend '{backend}' gives jobs no network; an operator must set DockerBackendOptions.NetworkMode to a named network"));

        if (spec.Resources.Nodes != 1) errors.Add(new("resources.nodes", $"must be 1: a container job runs on one Docker engine (got {spec.Resources.Nodes})"));
        if (spec.Resources.Cpus < 1) errors.Add(new("resources.cpus", "must be at least 1"));
        if (spec.Resources.Gpus < 0) errors.Add(new("resources.gpus", "must not be negative"));
        long memory = request.MemoryMiBPerNode > 0 ? request.MemoryMiBPerNode : spec.Resources.MemoryMiB;
        if (memory is > 0 and < MinimumMemoryMiB) errors.Add(new("resources.memoryMiB", $"must be at least {MinimumMemoryMiB} MiB for a Docker container (got {memory})"));
        if (request.Walltime < TimeSpan.Zero) errors.Add(new("walltime", "must not be negative"));

        if (request.Nodes.Count > 1) errors.Add(new("nodes", $"a container job runs on one engine; got {request.Nodes.Count} nodes"));
        else if (request.Nodes.Count == 1 && !nodes.Contains(request.Nodes[0]))
            errors.Add(new("nodes", $"'{request.Nodes[0]}' is not an engine of the Docker backend '{backend}' (engines: {string.Join(", ", nodes)})"));
        else if (request.Nodes.Count == 0 && nodes.Count > 1)
            errors.Add(new("nodes", $"the Docker backend '{backend}' has {nodes.Count} engines; CompGrid's placement must choose one"));

        string work = spec.WorkingDirectory ?? options.WorkingDirectory;
        if (!work.StartsWith('/')) errors.Add(new("workingDirectory", $"must be an absolute path inside the container (got '{work}')"));
        else if (work.Split('/').Contains("..")) errors.Add(new("workingDirectory", "must not contain '..'"));
        else if (spec.Payload is { ReadOnlyRootFilesystem: true } && VolumeRelative(work, options.JobVolumePath) is null)
            errors.Add(new("workingDirectory", $"must be under the job volume '{options.JobVolumePath}' when the root filesystem is read-only"));

        for (int i = 0; i < spec.Inputs.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(spec.Inputs[i].Source)) errors.Add(new($"inputs[{i}].source", "is required"));
            else if (!File.Exists(spec.Inputs[i].Source) && !Directory.Exists(spec.Inputs[i].Source)) errors.Add(new($"inputs[{i}].source", $"'{spec.Inputs[i].Source}' does not exist"));
            if (TarStaging.CheckRelativePath(spec.Inputs[i].Destination) is { } bad) errors.Add(new($"inputs[{i}].destination", bad));
        }
        for (int i = 0; i < spec.Outputs.Count; i++)
        {
            if (TarStaging.CheckRelativePath(spec.Outputs[i].Source) is { } bad) errors.Add(new($"outputs[{i}].source", bad));
            if (TarStaging.CheckRelativePath(spec.Outputs[i].Destination) is { } bad2) errors.Add(new($"outputs[{i}].destination", bad2));
        }
        foreach (var key in spec.Environment.Keys)
            if (key.Length == 0 || !(char.IsAsciiLetter(key[0]) || key[0] == '_') || !key.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
                errors.Add(new("environment", $"'{key}' is not a valid variable name ([A-Za-z_][A-Za-z0-9_]*)"));
        return errors;
    }

    /// <summary>The path of <paramref name="path"/> relative to <paramref name="volume"/>, or null when it is not strictly inside it.</summary>
    public static string? VolumeRelative(string path, string volume)
    {
        string v = volume.TrimEnd('/');
        string p = path.TrimEnd('/');
        return p.StartsWith(v + "/", StringComparison.Ordinal) ? p[(v.Length + 1)..] : null;
    }

    /// <summary>Parses <c>uid[:gid]</c>; null for the image's user.</summary>
    public static (int Uid, int Gid)? ParseUser(string? user)
    {
        if (string.IsNullOrWhiteSpace(user)) return null;
        string[] parts = user.Split(':');
        if (parts.Length > 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int uid)) return null;
        int gid = uid;
        if (parts.Length == 2 && !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out gid)) return null;
        return (uid, gid);
    }

    /// <summary>Builds the container plan for a validated request.</summary>
    public static ContainerPlan Build(BackendJobRequest request, DockerBackendOptions options, string backend, string node, string? cpuset, string defaultOutputRoot)
    {
        var spec = request.Spec;
        var payload = spec.Payload!;
        string work = (spec.WorkingDirectory ?? options.WorkingDirectory).TrimEnd('/');
        if (work.Length == 0) work = "/";
        string? volume = VolumeRelative(work, options.JobVolumePath) is not null ? options.JobVolumePath.TrimEnd('/') : null;
        var user = ParseUser(options.User);
        long memoryMiB = request.MemoryMiBPerNode > 0 ? request.MemoryMiBPerNode : spec.Resources.MemoryMiB;
        long memoryBytes = memoryMiB * 1024 * 1024;
        int cpus = spec.Resources.Cpus;
        string outputDirectory = spec.OutputDirectory is { Length: > 0 } o ? Path.GetFullPath(o) : Path.GetFullPath(Path.Combine(defaultOutputRoot, ContainerName(request.JobId)));

        string image;
        IReadOnlyList<string>? cmd = null;
        IReadOnlyList<string>? entrypoint = null;
        (string, string)? script = null;
        switch (payload.Kind)
        {
            case PayloadKind.Container:
                image = payload.Image!;
                if (payload.Arguments.Count > 0) cmd = payload.Arguments;
                break;
            case PayloadKind.CommandLine:
                image = options.DefaultImage!;
                entrypoint = ["/bin/sh", "-c"];
                cmd = [payload.CommandLine!];
                break;
            case PayloadKind.Script:
                image = options.DefaultImage!;
                script = (ScriptName, payload.Script!);
                string scriptPath = work + "/" + ScriptName;
                entrypoint = payload.Interpreter is { Length: > 0 } interpreter ? [interpreter, scriptPath]
                    : payload.Script!.StartsWith("#!", StringComparison.Ordinal) ? [scriptPath] : ["/bin/sh", scriptPath];
                cmd = [];
                break;
            default:
                image = options.DefaultImage!;
                entrypoint = [payload.Executable!];
                cmd = payload.Arguments;
                break;
        }

        var env = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["COMPGRID_JOB_ID"] = request.JobId,
            ["COMPGRID_CPUS"] = cpus.ToString(CultureInfo.InvariantCulture),
            ["COMPGRID_MEMORY_MIB"] = memoryMiB.ToString(CultureInfo.InvariantCulture),
            ["HOME"] = work,
        };
        foreach (var (k, v) in spec.Environment) env[k] = v;

        var labels = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in spec.Labels) labels[DockerLabels.UserLabelPrefix + k] = v;
        labels[DockerLabels.Managed] = "true";
        labels[DockerLabels.Backend] = backend;
        labels[DockerLabels.Node] = node;
        labels[DockerLabels.Job] = request.JobId;
        labels[DockerLabels.Owner] = spec.Owner;
        if (spec.Account is { } account) labels[DockerLabels.Account] = account;
        labels[DockerLabels.Name] = spec.Name;
        labels[DockerLabels.Cpus] = cpus.ToString(CultureInfo.InvariantCulture);
        labels[DockerLabels.MemoryMiB] = memoryMiB.ToString(CultureInfo.InvariantCulture);
        labels[DockerLabels.Gpus] = spec.Resources.Gpus.ToString(CultureInfo.InvariantCulture);
        labels[DockerLabels.WalltimeSeconds] = ((long)request.Walltime.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        if (cpuset is not null) labels[DockerLabels.Cpuset] = cpuset;
        labels[DockerLabels.WorkDirectory] = work;
        labels[DockerLabels.OutputDirectory] = outputDirectory;
        if (spec.Outputs.Count > 0) labels[DockerLabels.Outputs] = DockerJson.Serialize(spec.Outputs.Select(x => new StagingLabel(x.Source, x.Destination)).ToList());

        var host = new HostConfig
        {
            NanoCpus = cpus * 1_000_000_000L,
            CpusetCpus = cpuset,
            Memory = memoryBytes,
            MemorySwap = memoryBytes,
            PidsLimit = options.PidsLimit,
            Privileged = false,
            CapDrop = ["ALL"],
            SecurityOpt = ["no-new-privileges"],
            NetworkMode = payload.Network && options.NetworkMode is { } network ? network : "none",
            ReadonlyRootfs = payload.ReadOnlyRootFilesystem,
            Init = options.Init ? true : null,
            AutoRemove = false,
            DeviceRequests = spec.Resources.Gpus > 0
                ? [new DeviceRequest { Driver = options.GpuDriver, Count = spec.Resources.Gpus, Capabilities = [["gpu"]] }]
                : null,
            Tmpfs = payload.ReadOnlyRootFilesystem ? new Dictionary<string, string> { ["/tmp"] = "rw,nosuid,nodev,size=64m,mode=1777" } : null,
        };

        var create = new ContainerCreateRequest
        {
            Image = image,
            Cmd = cmd,
            Entrypoint = entrypoint,
            Env = env.Select(kv => kv.Key + "=" + kv.Value).ToList(),
            WorkingDir = work,
            User = user is { } u ? $"{u.Uid}:{u.Gid}" : null,
            Labels = labels,
            Tty = false,
            AttachStdout = false,
            AttachStderr = false,
            NetworkDisabled = !payload.Network || options.NetworkMode is null,
            Volumes = volume is null ? null : new Dictionary<string, EmptyObject> { [volume] = new() },
            HostConfig = host,
        };
        return new ContainerPlan(ContainerName(request.JobId), create, work, volume, script, outputDirectory, user?.Uid ?? 0, user?.Gid ?? 0);
    }
}

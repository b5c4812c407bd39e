using System.Text.Json;
using System.Text.Json.Serialization;

namespace CompGrid.Docker.Engine;

// The facade's own view of the Engine API: only what CompGrid reads or sends (names as in the Engine API swagger),
// so the rest of the package does not depend on Docker.DotNet's model types. EngineModelMapping converts.

internal sealed record VersionResponse
{
    public string? Version { get; init; }
    public string? ApiVersion { get; init; }
    [JsonPropertyName("MinAPIVersion")] public string? MinApiVersion { get; init; }
    public string? Os { get; init; }
    public string? Arch { get; init; }
}

internal sealed record InfoResponse
{
    public string? Name { get; init; }
    [JsonPropertyName("NCPU")] public int NCpu { get; init; }
    public long MemTotal { get; init; }
    public string? ServerVersion { get; init; }
    public string? CgroupVersion { get; init; }
    public bool LiveRestoreEnabled { get; init; }
}

internal sealed record DeviceRequest
{
    public string? Driver { get; init; }
    public int Count { get; init; }
    public IReadOnlyList<string>? DeviceIDs { get; init; }
    public IReadOnlyList<IReadOnlyList<string>> Capabilities { get; init; } = [];
}

internal sealed record HostConfig
{
    public long NanoCpus { get; init; }
    public string? CpusetCpus { get; init; }
    public long Memory { get; init; }
    public long MemorySwap { get; init; }
    public long? PidsLimit { get; init; }
    public bool Privileged { get; init; }
    public IReadOnlyList<string>? CapDrop { get; init; }
    public IReadOnlyList<string>? SecurityOpt { get; init; }
    public string? NetworkMode { get; init; }
    public bool ReadonlyRootfs { get; init; }
    public bool? Init { get; init; }
    public bool AutoRemove { get; init; }
    public IReadOnlyList<DeviceRequest>? DeviceRequests { get; init; }
    public IReadOnlyDictionary<string, string>? Tmpfs { get; init; }
}

internal sealed record ContainerCreateRequest
{
    public string Image { get; init; } = "";
    public IReadOnlyList<string>? Cmd { get; init; }
    public IReadOnlyList<string>? Entrypoint { get; init; }
    public IReadOnlyList<string>? Env { get; init; }
    public string? WorkingDir { get; init; }
    public string? User { get; init; }
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
    public bool Tty { get; init; }
    public bool OpenStdin { get; init; }
    public bool AttachStdout { get; init; }
    public bool AttachStderr { get; init; }
    public bool NetworkDisabled { get; init; }
    public IReadOnlyDictionary<string, EmptyObject>? Volumes { get; init; }
    public HostConfig HostConfig { get; init; } = new();
}

/// <summary>The JSON <c>{}</c> (volume sets in the Engine API).</summary>
internal sealed record EmptyObject;

internal sealed record ContainerCreateResponse
{
    public string Id { get; init; } = "";
    public IReadOnlyList<string>? Warnings { get; init; }
}

internal sealed record ContainerState
{
    public string Status { get; init; } = "";
    public bool Running { get; init; }
    public bool Paused { get; init; }
    public bool Restarting { get; init; }
    [JsonPropertyName("OOMKilled")] public bool OomKilled { get; init; }
    public bool Dead { get; init; }
    public int Pid { get; init; }
    public int ExitCode { get; init; }
    public string? Error { get; init; }
    public string? StartedAt { get; init; }
    public string? FinishedAt { get; init; }

    /// <summary>StartedAt, or null for Docker's zero time.</summary>
    public DateTimeOffset? StartedAtTime => ParseTime(StartedAt);

    /// <summary>FinishedAt, or null for Docker's zero time.</summary>
    public DateTimeOffset? FinishedAtTime => ParseTime(FinishedAt);

    internal static DateTimeOffset? ParseTime(string? text) =>
        text is { Length: > 0 } && !text.StartsWith("0001-", StringComparison.Ordinal)
        && DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var t)
            ? t : null;
}

internal sealed record ContainerConfigView
{
    public string? Image { get; init; }
    public string? User { get; init; }
    public bool Tty { get; init; }
    public string? WorkingDir { get; init; }
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
}

internal sealed record ContainerInspect
{
    public string Id { get; init; } = "";
    public string? Name { get; init; }
    public string? Created { get; init; }
    public ContainerState State { get; init; } = new();
    public ContainerConfigView Config { get; init; } = new();
    public HostConfig HostConfig { get; init; } = new();
}

internal sealed record ContainerSummary
{
    public string Id { get; init; } = "";
    public IReadOnlyList<string>? Names { get; init; }
    public string? Image { get; init; }
    public string? State { get; init; }
    public string? Status { get; init; }
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
}

internal sealed record WaitError
{
    public string? Message { get; init; }
}

internal sealed record WaitResponse
{
    public int StatusCode { get; init; }
    public WaitError? Error { get; init; }
}

internal sealed record CpuUsage
{
    [JsonPropertyName("total_usage")] public ulong TotalUsage { get; init; }
}

internal sealed record CpuStats
{
    [JsonPropertyName("cpu_usage")] public CpuUsage CpuUsage { get; init; } = new();
    [JsonPropertyName("system_cpu_usage")] public ulong SystemCpuUsage { get; init; }
    [JsonPropertyName("online_cpus")] public int OnlineCpus { get; init; }
}

internal sealed record MemoryStats
{
    [JsonPropertyName("usage")] public ulong Usage { get; init; }
    [JsonPropertyName("max_usage")] public ulong MaxUsage { get; init; }
    [JsonPropertyName("limit")] public ulong Limit { get; init; }
}

internal sealed record ContainerStats
{
    [JsonPropertyName("read")] public string? Read { get; init; }
    [JsonPropertyName("cpu_stats")] public CpuStats CpuStats { get; init; } = new();
    [JsonPropertyName("memory_stats")] public MemoryStats MemoryStats { get; init; } = new();
}

internal sealed record EventActor
{
    [JsonPropertyName("ID")] public string? Id { get; init; }
    public IReadOnlyDictionary<string, string>? Attributes { get; init; }
}

internal sealed record DockerEvent
{
    public string? Type { get; init; }
    public string? Action { get; init; }
    public EventActor? Actor { get; init; }
    [JsonPropertyName("time")] public long Time { get; init; }
    [JsonPropertyName("timeNano")] public long TimeNano { get; init; }
}

internal sealed record ImageSummary
{
    public string Id { get; init; } = "";
    public IReadOnlyList<string>? RepoTags { get; init; }
    public long Size { get; init; }
    public long Created { get; init; }
}

internal sealed record ImageInspect
{
    public string Id { get; init; } = "";
    public IReadOnlyList<string>? RepoTags { get; init; }
    public long Size { get; init; }
}

/// <summary>The <c>X-Docker-Container-Path-Stat</c> header of the archive API.</summary>
internal sealed record PathStat
{
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("size")] public long Size { get; init; }
    [JsonPropertyName("mode")] public uint Mode { get; init; }
    [JsonPropertyName("linkTarget")] public string? LinkTarget { get; init; }

    /// <summary>Whether the path is a directory (Go's os.ModeDir bit).</summary>
    public bool IsDirectory => (Mode & 0x80000000u) != 0;
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(ContainerCreateRequest))]
[JsonSerializable(typeof(List<StagingLabel>))]
internal sealed partial class DockerJsonContext : JsonSerializerContext;

/// <summary>An output staging item as kept in a container label (so a restarted CompGrid can still stage outputs).</summary>
internal sealed record StagingLabel(string S, string D);

internal static class DockerJson
{
    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, typeof(T), DockerJsonContext.Default);
}

/// <summary>The stream a frame of a multiplexed logs stream belongs to.</summary>
internal enum StreamKind : byte
{
    Stdin = 0,
    Stdout = 1,
    Stderr = 2,
}

/// <summary>One chunk of a container's output.</summary>
internal readonly record struct StreamFrame(StreamKind Kind, ReadOnlyMemory<byte> Payload);

using System.Text.Json.Serialization;

namespace CompGrid.Sessions.Services;

/// <summary>How the proxy spreads requests over a service's healthy replicas.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<BalancingPolicy>))]
public enum BalancingPolicy
{
    /// <summary>Each healthy replica in turn.</summary>
    RoundRobin,
    /// <summary>The healthy replica with the fewest requests in flight (ties: in turn).</summary>
    LeastRequests,
}

/// <summary>
/// A long-running service: <see cref="MinReplicas"/> to <see cref="MaxReplicas"/> copies of <see cref="Payload"/>, each
/// an ordinary job of <see cref="Owner"/> (admission, limits and billing apply to every replica), each given a port in
/// <c>PORT</c> (and <c>HOST=127.0.0.1</c>) that it must listen on. Checked by <see cref="Validate"/>.
/// </summary>
public sealed record ServiceSpec
{
    /// <summary>The service's name: the path segment it is reached under (<c>/services/{name}/</c>); 1–40 lowercase letters, digits and '-', starting with a letter.</summary>
    public required string Name { get; init; }

    /// <summary>The user who deploys it; its replica jobs are theirs.</summary>
    public required string Owner { get; init; }

    /// <summary>The grant its replicas are charged to, or null.</summary>
    public string? Account { get; init; }

    /// <summary>What each replica runs (a command line, script or executable); it listens on 127.0.0.1:<c>$PORT</c>.</summary>
    public required JobPayload Payload { get; init; }

    /// <summary>The fewest replicas (and the number it starts with). <value>The default is 2.</value></summary>
    public int MinReplicas { get; init; } = 2;

    /// <summary>The most replicas autoscaling may run. <value>The default is <see cref="MinReplicas"/> (no autoscaling).</value></summary>
    public int? MaxReplicas { get; init; }

    /// <summary>Requests per second per replica (window average at the proxy) above which it scales up, or null for a fixed count. <value>The default is null.</value></summary>
    public double? TargetRequestsPerSecond { get; init; }

    /// <summary>The health check's path on each replica. <value>The default is <c>/</c>.</value></summary>
    public string HealthPath { get; init; } = "/";

    /// <summary>How often each replica is checked. <value>The default is 5 seconds.</value></summary>
    public TimeSpan HealthInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long one check may take. <value>The default is 2 seconds.</value></summary>
    public TimeSpan HealthTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Consecutive failed checks after which a replica is unhealthy and replaced. <value>The default is 3.</value></summary>
    public int UnhealthyAfter { get; init; } = 3;

    /// <summary>Whether anyone (signed in or not) may reach it; otherwise only its owner. <value>The default is false.</value></summary>
    public bool Public { get; init; }

    /// <summary>How requests are spread. <value>The default is <see cref="BalancingPolicy.RoundRobin"/>.</value></summary>
    public BalancingPolicy Balancing { get; init; }

    /// <summary>CPUs of each replica. <value>The default is 1.</value></summary>
    public int Cpus { get; init; } = 1;

    /// <summary>Memory of each replica in MiB, or 0 for the engine's default. <value>The default is 0.</value></summary>
    public long MemoryMiB { get; init; }

    /// <summary>The maximum replicas can have been, for the rules in <see cref="Validate"/>.</summary>
    [JsonIgnore]
    public int EffectiveMaxReplicas => MaxReplicas ?? MinReplicas;

    /// <summary>Every rule this spec breaks, each naming its field (empty when valid). <paramref name="limit"/> is the most replicas allowed.</summary>
    public IReadOnlyList<ValidationError> Validate(int limit)
    {
        var errors = new List<ValidationError>();
        if (!IsValidName(Name)) errors.Add(new("name", "must be 1-40 lowercase letters, digits and '-', starting with a letter"));
        if (string.IsNullOrEmpty(Owner)) errors.Add(new("owner", "is required"));
        if (Payload is null) errors.Add(new("payload", "is required"));
        else if (Payload.Kind == PayloadKind.Container) errors.Add(new("payload", "container images are not supported for services yet; give a command"));
        if (MinReplicas < 1 || MinReplicas > limit) errors.Add(new("minReplicas", $"must be between 1 and {limit}"));
        if (MaxReplicas is { } max && (max < MinReplicas || max > limit)) errors.Add(new("maxReplicas", $"must be between minReplicas and {limit}"));
        if (TargetRequestsPerSecond is { } t && (!double.IsFinite(t) || t <= 0)) errors.Add(new("targetRequestsPerSecond", "must be a positive number"));
        if (TargetRequestsPerSecond is null && MaxReplicas is { } m && m > MinReplicas) errors.Add(new("targetRequestsPerSecond", "is required when maxReplicas is above minReplicas"));
        if (HealthPath is not { Length: > 0 } p || p[0] != '/' || p.Length > 200 || p.Any(c => char.IsControl(c) || c is ' ' or '#') || p.StartsWith("//", StringComparison.Ordinal))
            errors.Add(new("healthPath", "must be a path starting with a single '/' (at most 200 characters, no spaces, '#' or control characters)"));
        if (HealthInterval < TimeSpan.FromMilliseconds(100) || HealthInterval > TimeSpan.FromHours(1)) errors.Add(new("healthInterval", "must be between 0.1 s and 1 h"));
        if (HealthTimeout <= TimeSpan.Zero || HealthTimeout > HealthInterval) errors.Add(new("healthTimeout", "must be positive and at most healthInterval"));
        if (UnhealthyAfter is < 1 or > 100) errors.Add(new("unhealthyAfter", "must be between 1 and 100"));
        if (Cpus < 1) errors.Add(new("cpus", "must be at least 1"));
        if (MemoryMiB < 0) errors.Add(new("memoryMiB", "must not be negative"));
        return errors;
    }

    /// <summary>Whether <paramref name="name"/> is a valid service name (one safe path segment).</summary>
    public static bool IsValidName(string? name) =>
        name is { Length: >= 1 and <= 40 } && char.IsAsciiLetterLower(name[0]) && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');
}

using System.Text.Json.Serialization;

namespace CompGrid.Sessions.Services;

/// <summary>Where a replica is in its life.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ReplicaState>))]
public enum ReplicaState
{
    /// <summary>Its job is queued, or it has not passed a health check yet.</summary>
    Starting,
    /// <summary>It passed its last health check: the proxy sends it requests.</summary>
    Healthy,
    /// <summary>Its last checks or a forwarded request failed: no requests are sent to it; replaced after <see cref="ServiceSpec.UnhealthyAfter"/> failures.</summary>
    Unhealthy,
}

/// <summary>One replica of a service: an engine job listening on 127.0.0.1.</summary>
public sealed record ServiceReplicaInfo
{
    /// <summary>The replica's number within its service (never reused).</summary>
    public required int Id { get; init; }

    /// <summary>The job that runs it (charged like any job).</summary>
    public required string JobId { get; init; }

    /// <summary>Its state.</summary>
    public ReplicaState State { get; init; }

    /// <summary>Consecutive failed health checks.</summary>
    public int Failures { get; init; }

    /// <summary>Requests being forwarded to it now.</summary>
    public int InFlight { get; init; }

    /// <summary>When it was submitted.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Its loopback address (for the proxy; never given to users).</summary>
    [JsonIgnore]
    public Uri Upstream { get; init; } = null!;

    /// <inheritdoc/>
    public override string ToString() => $"{Id} ({JobId}) {State}";
}

/// <summary>A snapshot of one service.</summary>
public sealed record ServiceInfo
{
    /// <summary>The service's name.</summary>
    public required string Name { get; init; }

    /// <summary>Its owner.</summary>
    public required string Owner { get; init; }

    /// <summary>What it was deployed with.</summary>
    public required ServiceSpec Spec { get; init; }

    /// <summary>The path it is reached under through the portal (<c>/services/{name}/</c>).</summary>
    public required string Url { get; init; }

    /// <summary>When it was deployed.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>How many replicas it should run now (autoscaling moves this between the minimum and the maximum).</summary>
    public int DesiredReplicas { get; init; }

    /// <summary>Requests per second through the proxy, averaged over <see cref="ServiceManagerOptions.RateWindow"/>.</summary>
    public double RequestsPerSecond { get; init; }

    /// <summary>Its live replicas.</summary>
    public IReadOnlyList<ServiceReplicaInfo> Replicas { get; init; } = [];

    /// <summary>Every job that has run a replica of it, oldest first (its cost is the sum of theirs).</summary>
    public IReadOnlyList<string> JobIds { get; init; } = [];

    /// <summary>Replicas replaced because they exited or turned unhealthy.</summary>
    public int Restarts { get; init; }

    /// <summary>Whether it was deleted (its replicas are cancelled).</summary>
    public bool Deleted { get; init; }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} by {Owner}: {Replicas.Count(r => r.State == ReplicaState.Healthy)}/{DesiredReplicas} healthy";
}

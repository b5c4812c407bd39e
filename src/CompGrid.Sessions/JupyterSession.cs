using System.Text.Json.Serialization;

namespace CompGrid.Sessions;

/// <summary>Where a session is in its life.</summary>
public enum SessionState
{
    /// <summary>The job is queued or its server does not answer yet.</summary>
    Starting,
    /// <summary>The server answers <c>/api</c>; it is reachable through the portal.</summary>
    Ready,
    /// <summary>The job ended (idle, closed, walltime, failure); the workspace is removed.</summary>
    Ended,
}

/// <summary>One Jupyter session: a job running a notebook server bound to 127.0.0.1 on its node.</summary>
public sealed record JupyterSession
{
    /// <summary>The session id (random, one path segment).</summary>
    public required string Id { get; init; }

    /// <summary>The CompGrid job that runs the server (charged like any job).</summary>
    public required string JobId { get; init; }

    /// <summary>The user who opened it; only they reach it.</summary>
    public required string Owner { get; init; }

    /// <summary>The state.</summary>
    public SessionState State { get; init; }

    /// <summary>The path the portal serves the notebook under (<c>/sessions/{id}/</c>); set once <see cref="State"/> is Ready.</summary>
    public string? Url { get; init; }

    /// <summary>The path prefix of the session (the server's <c>base_url</c>).</summary>
    public required string BasePath { get; init; }

    /// <summary>When it was opened.</summary>
    public DateTimeOffset OpenedAt { get; init; }

    /// <summary>When the server first answered.</summary>
    public DateTimeOffset? ReadyAt { get; init; }

    /// <summary>When it was seen ended.</summary>
    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>Why it ended (<c>idle</c>, <c>closed</c>, <c>did not start</c>, or the job's state).</summary>
    public string? EndReason { get; init; }

    /// <summary>The server's loopback address on its node (for the portal's proxy; never given to users).</summary>
    [JsonIgnore]
    public Uri? Upstream { get; init; }

    /// <summary>The server's token (the proxy sends it upstream; never given to users).</summary>
    [JsonIgnore]
    public string Token { get; init; } = "";

    /// <inheritdoc/>
    public override string ToString() => $"{Id} ({JobId}) {State} by {Owner}";
}

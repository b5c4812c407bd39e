namespace CompGrid.Docker.Engine;

/// <summary>Where an engine listens, parsed from <see cref="DockerEngineOptions.Endpoint"/>.</summary>
/// <param name="Display">The endpoint as configured (for messages).</param>
/// <param name="ClientUri">The endpoint handed to Docker.DotNet (<c>unix://</c>, <c>tcp://</c>, <c>http(s)://</c>).</param>
/// <param name="SocketPath">The unix socket path, or null for TCP.</param>
/// <param name="UseTls">Whether the engine is reached over TLS.</param>
internal sealed record DockerEndpoint(string Display, Uri ClientUri, string? SocketPath, bool UseTls)
{
    /// <summary>The default endpoint: <c>DOCKER_HOST</c>, else the system socket.</summary>
    public static string DefaultEndpoint =>
        Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } host ? host : "unix:///var/run/docker.sock";

    /// <summary>Parses an endpoint; returns null and an error message when it is not one of the supported forms.</summary>
    public static DockerEndpoint? TryParse(string? endpoint, bool tls, out string? error)
    {
        error = null;
        string text = string.IsNullOrWhiteSpace(endpoint) ? DefaultEndpoint : endpoint.Trim();
        if (text.StartsWith("unix://", StringComparison.OrdinalIgnoreCase))
        {
            string path = text["unix://".Length..];
            if (!path.StartsWith('/')) { error = $"'{text}' must name an absolute socket path (unix:///path/docker.sock)"; return null; }
            return new DockerEndpoint(text, new Uri("unix://" + path), path, false);
        }
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri)) { error = $"'{text}' is not unix:///path, tcp://host:port, http:// or https://"; return null; }
        switch (uri.Scheme)
        {
            case "tcp":
                if (uri.IsDefaultPort || uri.Port <= 0) { error = $"'{text}' must name a port (tcp://host:2376)"; return null; }
                return new DockerEndpoint(text, new Uri($"tcp://{uri.Authority}"), null, tls);
            case "http":
            case "https":
                return new DockerEndpoint(text, new Uri(uri.GetLeftPart(UriPartial.Authority)), null, uri.Scheme == "https" || tls);
            default:
                error = $"'{text}' has an unsupported scheme '{uri.Scheme}' (use unix, tcp, http or https)";
                return null;
        }
    }
}

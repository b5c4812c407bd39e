using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace CompGrid.Docker.Engine;

/// <summary>Where an engine listens, parsed from <see cref="DockerEngineOptions.Endpoint"/>.</summary>
internal sealed record DockerEndpoint(string Display, Uri BaseAddress, string? SocketPath, bool UseTls)
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
            return new DockerEndpoint(text, new Uri("http://docker.sock/"), path, false);
        }
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri)) { error = $"'{text}' is not unix:///path, tcp://host:port, http:// or https://"; return null; }
        switch (uri.Scheme)
        {
            case "tcp":
                if (uri.IsDefaultPort || uri.Port <= 0) { error = $"'{text}' must name a port (tcp://host:2376)"; return null; }
                return new DockerEndpoint(text, new Uri($"{(tls ? "https" : "http")}://{uri.Authority}/"), null, tls);
            case "http":
            case "https":
                return new DockerEndpoint(text, new Uri(uri.GetLeftPart(UriPartial.Authority) + "/"), null, uri.Scheme == "https");
            default:
                error = $"'{text}' has an unsupported scheme '{uri.Scheme}' (use unix, tcp, http or https)";
                return null;
        }
    }

    /// <summary>Creates the HTTP handler: a unix-socket ConnectCallback, or TCP with optional TLS.</summary>
    public SocketsHttpHandler CreateHandler(DockerTlsOptions? tls)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            AllowAutoRedirect = false,
            UseProxy = false,
        };
        if (SocketPath is { } path)
        {
            handler.ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
        }
        else if (UseTls && tls is not null)
        {
            var ssl = new SslClientAuthenticationOptions();
            if (tls.ClientCertificateFile is { Length: > 0 } cert)
            {
                using var pem = X509Certificate2.CreateFromPemFile(cert, tls.ClientKeyFile);
                // Re-import so the key is usable by SslStream on every platform.
                ssl.ClientCertificates = [X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null)];
            }
            if (tls.CaCertificateFile is { Length: > 0 } caFile)
            {
                var ca = new X509Certificate2Collection();
                ca.ImportFromPemFile(caFile);
                ssl.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                {
                    if (certificate is null) return false;
                    if ((errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None) return false;
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.AddRange(ca);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    using var leaf = new X509Certificate2(certificate);
                    return chain.Build(leaf);
                };
            }
            handler.SslOptions = ssl;
        }
        return handler;
    }
}

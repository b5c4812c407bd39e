using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Docker.DotNet.Handler.Abstractions;
using Docker.DotNet.X509;

namespace CompGrid.Docker.Engine;

/// <summary>TLS for a TCP engine from PEM files (like <c>docker --tlsverify</c>): the client certificate through Docker.DotNet.X509, the engine's certificate checked against the configured CA.</summary>
internal static class EngineTls
{
    /// <summary>The auth provider for <paramref name="tls"/>: client certificate and/or CA check.</summary>
    public static IAuthProvider Create(DockerTlsOptions tls)
    {
        var validate = tls.CaCertificateFile is { Length: > 0 } ca ? TrustOnly(ca) : null;
        if (tls.ClientCertificateFile is { Length: > 0 } cert)
        {
            var certificate = DockerTlsCertificates.LoadCertificateFromPemFiles(cert, tls.ClientKeyFile!);
            return new CertificateCredentials(certificate) { ServerCertificateValidationCallback = validate };
        }
        return new ServerTrust(validate);
    }

    /// <summary>Accepts a server certificate only when it chains to the CA in <paramref name="caFile"/> (and its name matches).</summary>
    private static RemoteCertificateValidationCallback TrustOnly(string caFile)
    {
        var ca = new X509Certificate2Collection();
        ca.ImportFromPemFile(caFile);
        return (_, certificate, _, errors) =>
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

    /// <summary>TLS without a client certificate: only the server's certificate is checked.</summary>
    private sealed class ServerTrust(RemoteCertificateValidationCallback? validate) : IAuthProvider
    {
        public bool TlsEnabled => true;

        public HttpMessageHandler ConfigureHandler(HttpMessageHandler handler)
        {
            if (validate is null) return handler;
            switch (handler)
            {
                case SocketsHttpHandler sockets:
                    sockets.SslOptions.RemoteCertificateValidationCallback = validate;
                    break;
                case HttpClientHandler client:
                    client.ServerCertificateCustomValidationCallback = (message, certificate, chain, errors) => validate(message, certificate, chain, errors);
                    break;
                default:
                    throw new CompGridException($"Docker TLS: cannot set the CA check on a {handler.GetType().Name}.") { Operation = "configure" };
            }
            return handler;
        }
    }
}

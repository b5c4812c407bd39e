using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CompGrid.Docker.Engine;

namespace CompGrid.Docker.Tests;

/// <summary>TCP + TLS transport (like <c>docker --tlsverify</c>) against an in-process TLS server on 127.0.0.1.</summary>
[Trait("Category", "Docker")]
public sealed class TlsTransportTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "cg-tls-" + Guid.NewGuid().ToString("N")[..8]);

    public TlsTransportTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private static X509Certificate2 CreateCa(string name)
    {
        using var key = RSA.Create(2048);
        var req = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    private static X509Certificate2 Issue(X509Certificate2 ca, string name, bool server, out RSA key)
    {
        key = RSA.Create(2048);
        var req = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(server ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        if (server)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            san.AddDnsName("localhost");
            req.CertificateExtensions.Add(san.Build());
        }
        var serial = RandomNumberGenerator.GetBytes(8);
        return req.Create(ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(12), serial);
    }

    /// <summary>A one-request-per-connection HTTPS server answering <c>/_ping</c>, requiring a client certificate.</summary>
    private static async Task ServeAsync(TcpListener listener, X509Certificate2 serverCert, List<string> clients, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            TcpClient tcp;
            try { tcp = await listener.AcceptTcpClientAsync(ct); }
            catch (OperationCanceledException) { return; }
            using (tcp)
            {
                try
                {
                    using var ssl = new SslStream(tcp.GetStream());
                    await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                    {
                        ServerCertificate = serverCert,
                        ClientCertificateRequired = true,
                        RemoteCertificateValidationCallback = (_, cert, _, _) => cert is not null,
                    }, ct);
                    lock (clients) clients.Add(ssl.RemoteCertificate?.Subject ?? "");
                    var buffer = new byte[4096];
                    var request = new StringBuilder();
                    while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                    {
                        int n = await ssl.ReadAsync(buffer, ct);
                        if (n == 0) break;
                        request.Append(Encoding.ASCII.GetString(buffer, 0, n));
                    }
                    await ssl.WriteAsync("HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK"u8.ToArray(), ct);
                    await ssl.FlushAsync(ct);
                }
                catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException or OperationCanceledException) { }
            }
        }
    }

    private (string Ca, string Cert, string Key) WriteClientFiles(X509Certificate2 trustedCa, X509Certificate2 clientCa)
    {
        var client = Issue(clientCa, "cg-client", server: false, out var clientKey);
        string ca = Path.Combine(_dir, Guid.NewGuid().ToString("N")[..6] + "-ca.pem");
        string cert = Path.Combine(_dir, "cert.pem");
        string key = Path.Combine(_dir, "key.pem");
        File.WriteAllText(ca, trustedCa.ExportCertificatePem());
        File.WriteAllText(cert, client.ExportCertificatePem());
        File.WriteAllText(key, clientKey.ExportPkcs8PrivateKeyPem());
        clientKey.Dispose();
        return (ca, cert, key);
    }

    [Fact]
    public async Task Ping_TcpWithTls_VerifiesServerByCustomCaAndPresentsClientCertificate()
    {
        using var ca = CreateCa("cg-test-ca");
        using var issued = Issue(ca, "localhost", server: true, out var serverKey);
        using var server = X509CertificateLoader.LoadPkcs12(issued.CopyWithPrivateKey(serverKey).Export(X509ContentType.Pkcs12), null);
        serverKey.Dispose();
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var clients = new List<string>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var serving = ServeAsync(listener, server, clients, cts.Token);
        try
        {
            var (caFile, certFile, keyFile) = WriteClientFiles(ca, ca);
            var tls = new DockerTlsOptions { CaCertificateFile = caFile, ClientCertificateFile = certFile, ClientKeyFile = keyFile };
            var endpoint = DockerEndpoint.TryParse($"tcp://127.0.0.1:{port}", tls: true, out _)!;
            using var client = new DockerEngineClient("lab", "lab-tls", endpoint, tls, TimeProvider.System, TimeSpan.FromSeconds(10), "1.47");
            await client.PingAsync(TimeSpan.FromSeconds(10));
            lock (clients) Assert.Contains("CN=cg-client", clients);

            // A server whose certificate the configured CA did not sign is refused.
            using var otherCa = CreateCa("cg-other-ca");
            var (otherCaFile, _, _) = WriteClientFiles(otherCa, ca);
            var refused = new DockerTlsOptions { CaCertificateFile = otherCaFile, ClientCertificateFile = certFile, ClientKeyFile = keyFile };
            using var untrusting = new DockerEngineClient("lab", "lab-tls", endpoint, refused, TimeProvider.System, TimeSpan.FromSeconds(10), "1.47");
            var e = await Assert.ThrowsAsync<CompGridException>(() => untrusting.PingAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal(DockerEngineClient.UnreachableCode, e.Code);
        }
        finally
        {
            await cts.CancelAsync();
            listener.Stop();
            await serving;
        }
    }
}

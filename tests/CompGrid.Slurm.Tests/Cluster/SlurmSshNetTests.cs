using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using CompGrid.Slurm.Ssh;
using CompGrid.Slurm.Tests.Cluster;

namespace CompGrid.Slurm.Tests;

/// <summary>The SSH.NET runner against the cluster's real sshd: one connection, concurrent channels, reconnect, host keys, keys.</summary>
[Trait("Category", "Slurm")]
[RequiresBackend(SlurmCluster.Name, SlurmCluster.UrlVariable)]
[Collection("SlurmScenarios")]
public sealed class SlurmSshNetTests
{
    private static readonly string[] Partitions = ["-h", "-o", "%P"];

    private static SlurmBackendOptions Options(Action<SlurmBackendOptions>? configure = null)
    {
        var o = SlurmCluster.V2205.SshOptions(SshClientKind.SshNet);
        configure?.Invoke(o);
        return o;
    }

    [Fact]
    public async Task SshNet_ConcurrentCommands_ShareOneConnection()
    {
        await using var runner = new SshNetCommandRunner(Options(o => o.SshMaxChannels = 4), "t");
        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => runner.RunAsync("sinfo", Partitions, null, default)));
        Assert.All(results, r => Assert.True(r.Success, r.Stderr));
        Assert.All(results, r => Assert.Contains("gpu", r.Stdout, StringComparison.Ordinal));
        Assert.Equal(1, runner.Connections);
    }

    [Fact]
    public async Task SshNet_StandardInput_ReachesTheRemoteCommand()
    {
        await using var runner = new SshNetCommandRunner(Options(), "t");
        string text = "line one\n#SBATCH --partition=gpu\n$(id) 'quoted'\n";
        var result = await runner.RunAsync("cat", [], text, default);
        Assert.True(result.Success, result.Stderr);
        Assert.Equal(text, result.Stdout);
    }

    [Fact]
    public async Task SshNet_ConnectionDropped_ReconnectsForTheNextCommand()
    {
        using var proxy = new LoopbackProxy(int.Parse(SlurmCluster.V2205.Env("COMPGRID_SLURM_SSH_PORT"), CultureInfo.InvariantCulture));
        string knownHosts = await KnownHostsForPortAsync(proxy.Port);
        try
        {
            await using var runner = new SshNetCommandRunner(Options(o =>
            {
                o.SshPort = proxy.Port;
                o.SshKnownHostsFile = knownHosts;
            }), "t");
            Assert.True((await runner.RunAsync("sinfo", Partitions, null, default)).Success);
            Assert.Equal(1, runner.Connections);

            proxy.DropAll();
            Cli.CommandResult? result = null;
            try
            {
                result = await runner.RunAsync("sinfo", Partitions, null, default);
            }
            catch (CompGridException ex)
            {
                // The drop was noticed by this command: a transient fault, and the connection is forgotten.
                Assert.True(ex.IsTransient, ex.Message);
            }
            result ??= await runner.RunAsync("sinfo", Partitions, null, default);
            Assert.True(result.Success, result.Stderr);
            Assert.Equal(2, runner.Connections);
            Assert.Equal(2, proxy.Accepted);
        }
        finally
        {
            File.Delete(knownHosts);
        }
    }

    [Fact]
    public async Task SshNet_HashedKnownHosts_AreVerified()
    {
        string hashed = Path.GetTempFileName();
        try
        {
            File.Copy(SlurmCluster.V2205.Env("COMPGRID_SLURM_SSH_KNOWN_HOSTS"), hashed, overwrite: true);
            await RunAsync("ssh-keygen", "-H", "-f", hashed);
            Assert.StartsWith("|1|", await File.ReadAllTextAsync(hashed), StringComparison.Ordinal);
            await using var owned = (IAsyncDisposable)SlurmBackend.Create("campus-hashed", Options(o => o.SshKnownHostsFile = hashed));
            Assert.Equal(4, (await ((IComputeBackend)owned).GetNodesAsync()).Count);
        }
        finally
        {
            File.Delete(hashed);
            File.Delete(hashed + ".old");
        }
    }

    [Fact]
    public async Task SshNet_KeyFromStream_Authenticates()
    {
        await using var key = File.OpenRead(SlurmCluster.V2205.Env("COMPGRID_SLURM_SSH_KEY"));
        await using var owned = (IAsyncDisposable)SlurmBackend.Create("campus-stream-key", Options(o =>
        {
            o.SshIdentityFile = null;
            o.SshPrivateKey = key;
        }));
        Assert.Equal(4, (await ((IComputeBackend)owned).GetNodesAsync()).Count);
    }

    [Fact]
    public async Task SshNet_UnknownKey_FailsAuthenticationNotTransient()
    {
        string dir = Directory.CreateTempSubdirectory("cg-key-").FullName;
        try
        {
            string key = Path.Combine(dir, "id_ed25519");
            await RunAsync("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key);
            var backend = SlurmBackend.Create("campus-badkey", Options(o => o.SshIdentityFile = key));
            var ex = await Assert.ThrowsAnyAsync<CompGridException>(() => backend.GetNodesAsync());
            Assert.Equal("ssh-auth", ex.Code);
            Assert.False(ex.IsTransient);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task SshNet_ConnectionRefused_IsTransient()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int closedPort = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // nothing listens there now
        await using var runner = new SshNetCommandRunner(Options(o => o.SshPort = closedPort), "t");
        var ex = await Assert.ThrowsAnyAsync<CompGridException>(() => runner.RunAsync("sinfo", Partitions, null, default));
        Assert.Equal("ssh-connect", ex.Code);
        Assert.True(ex.IsTransient);
    }

    /// <summary>A copy of the cluster's known_hosts naming <c>[127.0.0.1]:port</c> (the proxy) with the same host key.</summary>
    private static async Task<string> KnownHostsForPortAsync(int port)
    {
        string line = (await File.ReadAllTextAsync(SlurmCluster.V2205.Env("COMPGRID_SLURM_SSH_KNOWN_HOSTS"))).Trim();
        string path = Path.GetTempFileName();
        await File.WriteAllTextAsync(path, $"[127.0.0.1]:{port.ToString(CultureInfo.InvariantCulture)} {line[(line.IndexOf(' ', StringComparison.Ordinal) + 1)..]}\n");
        return path;
    }

    private static async Task RunAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        await p.StandardOutput.ReadToEndAsync();
        string err = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, $"{file} failed: {err}");
    }

    /// <summary>A TCP relay on 127.0.0.1 to the cluster's sshd that can cut every connection, as a network drop would.</summary>
    private sealed class LoopbackProxy : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly int _target;
        private readonly List<TcpClient> _open = [];
        private int _accepted;

        public LoopbackProxy(int target)
        {
            _target = target;
            _listener.Start();
            _ = AcceptAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public int Accepted => Volatile.Read(ref _accepted);

        public void DropAll()
        {
            lock (_open)
            {
                foreach (var c in _open)
                {
                    try
                    {
                        if (c.Client is { } socket) socket.LingerState = new LingerOption(true, 0); // RST, like a dead link
                    }
                    catch (ObjectDisposedException)
                    {
                        // Its pump closed it already.
                    }
                    c.Dispose();
                }
                _open.Clear();
            }
        }

        private async Task AcceptAsync()
        {
            try
            {
                while (true)
                {
                    var inbound = await _listener.AcceptTcpClientAsync();
                    Interlocked.Increment(ref _accepted);
                    var outbound = new TcpClient();
                    await outbound.ConnectAsync(IPAddress.Loopback, _target);
                    lock (_open) _open.AddRange([inbound, outbound]);
                    _ = PumpAsync(inbound, outbound);
                    _ = PumpAsync(outbound, inbound);
                }
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // Listener stopped.
            }
        }

        private static async Task PumpAsync(TcpClient from, TcpClient to)
        {
            try
            {
                await from.GetStream().CopyToAsync(to.GetStream());
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
            {
                // Dropped.
            }
            finally
            {
                from.Dispose();
                to.Dispose();
            }
        }

        public void Dispose()
        {
            _listener.Stop();
            DropAll();
        }
    }
}

using System.Globalization;
using System.Text;
using CompGrid.Slurm.Cli;
using Microsoft.Extensions.Logging;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace CompGrid.Slurm.Ssh;

/// <summary>
/// Runs Slurm commands on a login node with SSH.NET: one connection per backend carrying up to
/// <see cref="SlurmBackendOptions.SshMaxChannels"/> concurrent exec channels, keepalive, a new connection after a drop,
/// host keys verified against <see cref="SlurmBackendOptions.SshKnownHostsFile"/> (<see cref="KnownHosts"/>), and key
/// authentication only. The remote command line is built by <see cref="RemoteCommandLine"/> (single-quoted words).
/// </summary>
internal sealed class SshNetCommandRunner : ICommandRunner
{
    private readonly SlurmBackendOptions _options;
    private readonly string _backend;
    private readonly ILogger _logger;
    private readonly byte[]? _keyFromStream;
    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private readonly SemaphoreSlim _channels;
    private SshClient? _client;
    private bool _disposed;

    public SshNetCommandRunner(SlurmBackendOptions options, string backend, ILogger? logger = null)
    {
        _options = options;
        _backend = backend;
        _logger = logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _channels = new SemaphoreSlim(options.SshMaxChannels, options.SshMaxChannels);
        if (options.SshPrivateKey is { } stream)
        {
            // Read once: a stream cannot be replayed for the reconnects that follow.
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            _keyFromStream = copy.ToArray();
        }
    }

    public string Location => $"{_options.SshUser}@{_options.SshHost}:{_options.SshPort.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>How many connections were made (tests: a drop leads to exactly one more).</summary>
    internal int Connections { get; private set; }

    public async Task<CommandResult> RunAsync(string command, IReadOnlyList<string> arguments, string? standardInput, CancellationToken cancellationToken)
    {
        string remote = RemoteCommandLine.Build(_options, command, arguments);
        await _channels.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var client = await ConnectedAsync(command, cancellationToken).ConfigureAwait(false);
            try
            {
                using var cmd = client.CreateCommand(remote, Encoding.UTF8);
                cmd.CommandTimeout = _options.CommandTimeout;
                var execution = cmd.ExecuteAsync(cancellationToken);
                if (standardInput is not null)
                {
                    // The channel is open once ExecuteAsync returns; disposing the input stream sends EOF.
                    var input = cmd.CreateInputStream();
                    await using (input.ConfigureAwait(false))
                    {
                        byte[] bytes = Encoding.UTF8.GetBytes(standardInput);
                        await input.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
                    }
                }
                await execution.ConfigureAwait(false);
                string stderr = cmd.Error;
                int exit = cmd.ExitStatus ?? -1;
                if (cmd.ExitStatus is null)
                    stderr += $"{Environment.NewLine}remote command ended by signal {cmd.ExitSignal ?? "(none reported)"}";
                return new CommandResult(exit, cmd.Result, stderr);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex) when (ex is SshException or IOException or ObjectDisposedException or InvalidOperationException
                                       or System.Net.Sockets.SocketException or TimeoutException)
            {
                // A dropped connection fails every command on it: forget it, so the next call (or the retry) reconnects.
                if (ex is not SshOperationTimeoutException && Forget(client)) Log.SshDropped(_logger, _backend, Location, ex.Message);
                throw SlurmErrors.FromSsh(ex, _backend, command, Location, hostKeyRejected: false);
            }
        }
        finally
        {
            _channels.Release();
        }
    }

    private async Task<SshClient> ConnectedAsync(string operation, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _client) is { IsConnected: true } current) return current;
        await _connectLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_client is { IsConnected: true } again) return again;
            _client?.Dispose();
            _client = null;

            string host = _options.SshHost!;
            int port = _options.SshPort;
            var knownHosts = LoadKnownHosts(operation);
            var key = LoadKey(operation);
            var info = new ConnectionInfo(host, port, _options.SshUser!, new PrivateKeyAuthenticationMethod(_options.SshUser!, key))
            {
                Timeout = _options.SshConnectTimeout,
                MaxSessions = _options.SshMaxChannels,
            };
            var client = new SshClient(info) { KeepAliveInterval = _options.SshKeepAliveInterval };
            bool rejected = false;
            string presented = "";
            client.HostKeyReceived += (_, e) =>
            {
                e.CanTrust = knownHosts.IsTrusted(host, port, e.HostKey);
                if (!e.CanTrust)
                {
                    rejected = true;
                    presented = $"{e.HostKeyName} SHA256:{e.FingerPrintSHA256}";
                }
            };
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.SshConnectTimeout);
            try
            {
                await client.ConnectAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                client.Dispose();
                if (rejected)
                {
                    string why = knownHosts.KnowsHost(host, port) ? "does not match the key recorded for it" : "has no entry";
                    throw SlurmErrors.FromSsh(
                        new SshConnectionException($"host key {presented} of {KnownHosts.LookupName(host, port)} {why} in {_options.SshKnownHostsFile}", ex),
                        _backend, operation, Location, hostKeyRejected: true);
                }
                throw SlurmErrors.FromSsh(ex is OperationCanceledException ? new SshOperationTimeoutException(
                    $"no SSH session within {_options.SshConnectTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s", ex) : ex,
                    _backend, operation, Location, hostKeyRejected: false);
            }
            _client = client;
            Connections++;
            Log.SshConnected(_logger, _backend, Connections, Location);
            return client;
        }
        finally
        {
            _connectLock.Release();
        }
    }

    private KnownHosts LoadKnownHosts(string operation)
    {
        try
        {
            return KnownHosts.Parse(File.ReadAllText(_options.SshKnownHostsFile!));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CompGridException($"Cannot read the SSH known_hosts file '{_options.SshKnownHostsFile}': {ex.Message}", ex)
            { Backend = _backend, Operation = operation, Code = CompGridErrorCodes.SshHostKey };
        }
    }

    private PrivateKeyFile LoadKey(string operation)
    {
        try
        {
            if (_keyFromStream is not null)
            {
                using var stream = new MemoryStream(_keyFromStream, writable: false);
                return new PrivateKeyFile(stream, _options.SshPrivateKeyPassphrase);
            }
            return new PrivateKeyFile(_options.SshIdentityFile!, _options.SshPrivateKeyPassphrase);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or SshException or ArgumentException or InvalidOperationException)
        {
            throw new CompGridException($"Cannot load the SSH private key ({(_keyFromStream is null ? _options.SshIdentityFile : "SshPrivateKey stream")}): {ex.Message}", ex)
            { Backend = _backend, Operation = operation, Code = CompGridErrorCodes.SshAuthentication };
        }
    }

    private bool Forget(SshClient client)
    {
        if (Interlocked.CompareExchange(ref _client, null, client) != client) return false;
        client.Dispose();
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await _connectLock.WaitAsync().ConfigureAwait(false);
        try
        {
            _disposed = true;
            _client?.Dispose();
            _client = null;
        }
        finally
        {
            _connectLock.Release();
        }
    }
}

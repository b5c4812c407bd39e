using System.Text;
using System.Text.Json.Nodes;
using CompGrid.VirtualMachines.Qmp;

namespace CompGrid.VirtualMachines.GuestAgent;

/// <summary>What <c>guest-exec-status</c> reports about a process started in the guest.</summary>
internal sealed record GuestExecStatus(bool Exited, int? ExitCode, int? Signal, string StandardOutput, string StandardError, bool Truncated);

/// <summary>
/// The QEMU guest agent (qemu-ga on a virtio-serial port): runs programs inside the VM with an argument list and reads
/// and writes files there, so a VM runs jobs without SSH or a network.
/// </summary>
internal sealed class GuestAgentClient : IAsyncDisposable
{
    private readonly JsonLineConnection _connection;
    private readonly TimeSpan _timeout;

    private GuestAgentClient(JsonLineConnection connection, TimeSpan timeout)
    {
        _connection = connection;
        _timeout = timeout;
    }

    public bool IsClosed => _connection.IsClosed;

    /// <summary>Connects and checks the agent answers <c>guest-sync</c> with the number sent.</summary>
    public static async Task<GuestAgentClient> ConnectAsync(string socketPath, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        var connection = await JsonLineConnection.ConnectAsync(socketPath, "guest agent", time, cancellationToken).ConfigureAwait(false);
        try
        {
            long token = time.GetTimestamp() & 0x7FFFFFFF;
            var r = await connection.ExecuteAsync("guest-sync", new JsonObject { ["id"] = token }, timeout, cancellationToken).ConfigureAwait(false);
            if (r?.GetValue<long>() != token)
                throw new CompGridException($"The guest agent answered guest-sync with {r?.ToJsonString()} instead of {token}.") { Code = CompGridErrorCodes.GuestAgentError, IsTransient = true };
            return new GuestAgentClient(connection, timeout);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Starts <paramref name="path"/> with <paramref name="arguments"/> (no shell) and returns its pid in the guest.</summary>
    public async Task<long> ExecAsync(string path, IEnumerable<string> arguments, IEnumerable<string>? environment = null, CancellationToken cancellationToken = default)
    {
        var args = new JsonObject
        {
            ["path"] = path,
            ["arg"] = new JsonArray([.. arguments.Select(a => (JsonNode?)JsonValue.Create(a))]),
            ["capture-output"] = true,
        };
        if (environment is not null) args["env"] = new JsonArray([.. environment.Select(a => (JsonNode?)JsonValue.Create(a))]);
        var r = await _connection.ExecuteAsync("guest-exec", args, _timeout, cancellationToken).ConfigureAwait(false);
        return r?["pid"]?.GetValue<long>() ?? throw new CompGridException("guest-exec returned no pid.") { Code = CompGridErrorCodes.UnexpectedOutput };
    }

    public async Task<GuestExecStatus> ExecStatusAsync(long pid, CancellationToken cancellationToken = default)
    {
        var r = await _connection.ExecuteAsync("guest-exec-status", new JsonObject { ["pid"] = pid }, _timeout, cancellationToken).ConfigureAwait(false)
            ?? throw new CompGridException("guest-exec-status returned nothing.") { Code = CompGridErrorCodes.UnexpectedOutput };
        return new GuestExecStatus(
            r["exited"]?.GetValue<bool>() == true,
            r["exitcode"]?.GetValue<int>(),
            r["signal"]?.GetValue<int>(),
            Decode(r["out-data"]),
            Decode(r["err-data"]),
            r["out-truncated"]?.GetValue<bool>() == true || r["err-truncated"]?.GetValue<bool>() == true);
    }

    /// <summary>Runs a program to its end and returns its status; for the short housekeeping commands CompGrid runs.</summary>
    public async Task<GuestExecStatus> RunAsync(string path, IEnumerable<string> arguments, TimeProvider time, CancellationToken cancellationToken = default)
    {
        long pid = await ExecAsync(path, arguments, null, cancellationToken).ConfigureAwait(false);
        using var cts = new CancellationTokenSource(_timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, cts.Token);
        while (true)
        {
            var s = await ExecStatusAsync(pid, cancellationToken).ConfigureAwait(false);
            if (s.Exited) return s;
            try { await Task.Delay(TimeSpan.FromMilliseconds(50), time, linked.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) when (cts.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new CompGridException($"'{path}' in the guest did not finish within {_timeout.TotalSeconds:0.#} s.") { Code = CompGridErrorCodes.Timeout, IsTransient = true };
            }
        }
    }

    /// <summary>Writes <paramref name="content"/> to <paramref name="path"/> in the guest (created or truncated).</summary>
    public async Task WriteFileAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        var handle = await _connection.ExecuteAsync("guest-file-open", new JsonObject { ["path"] = path, ["mode"] = "w" }, _timeout, cancellationToken).ConfigureAwait(false);
        long h = handle?.GetValue<long>() ?? throw new CompGridException("guest-file-open returned no handle.") { Code = CompGridErrorCodes.UnexpectedOutput };
        try
        {
            const int Chunk = 48 * 1024;
            for (int offset = 0; offset < content.Length || offset == 0; offset += Chunk)
            {
                var part = content.Slice(offset, Math.Min(Chunk, content.Length - offset));
                await _connection.ExecuteAsync("guest-file-write", new JsonObject { ["handle"] = h, ["buf-b64"] = Convert.ToBase64String(part.Span) }, _timeout, cancellationToken).ConfigureAwait(false);
                if (content.Length == 0) break;
            }
        }
        finally
        {
            await _connection.ExecuteAsync("guest-file-close", new JsonObject { ["handle"] = h }, _timeout, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Reads at most <paramref name="maxBytes"/> of <paramref name="path"/> in the guest.</summary>
    public async Task<byte[]> ReadFileAsync(string path, int maxBytes, CancellationToken cancellationToken = default)
    {
        var handle = await _connection.ExecuteAsync("guest-file-open", new JsonObject { ["path"] = path, ["mode"] = "r" }, _timeout, cancellationToken).ConfigureAwait(false);
        long h = handle?.GetValue<long>() ?? throw new CompGridException("guest-file-open returned no handle.") { Code = CompGridErrorCodes.UnexpectedOutput };
        try
        {
            using var result = new MemoryStream();
            while (result.Length < maxBytes)
            {
                var r = await _connection.ExecuteAsync("guest-file-read", new JsonObject { ["handle"] = h, ["count"] = Math.Min(48 * 1024, maxBytes - (int)result.Length) }, _timeout, cancellationToken).ConfigureAwait(false);
                if (r?["buf-b64"]?.GetValue<string>() is { Length: > 0 } b64) result.Write(Convert.FromBase64String(b64));
                if (r?["eof"]?.GetValue<bool>() != false) break;
            }
            return result.ToArray();
        }
        finally
        {
            await _connection.ExecuteAsync("guest-file-close", new JsonObject { ["handle"] = h }, _timeout, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>The IP addresses of the guest's interfaces (<c>guest-network-get-interfaces</c>), loopback ones left out.</summary>
    public async Task<IReadOnlyList<System.Net.IPAddress>> GetAddressesAsync(CancellationToken cancellationToken = default)
    {
        var r = await _connection.ExecuteAsync("guest-network-get-interfaces", null, _timeout, cancellationToken).ConfigureAwait(false);
        var list = new List<System.Net.IPAddress>();
        if (r is not JsonArray interfaces) return list;
        foreach (var nic in interfaces.OfType<JsonObject>())
        {
            if (nic["ip-addresses"] is not JsonArray addresses) continue;
            foreach (var a in addresses.OfType<JsonObject>())
            {
                // The guest's claim is only parsed, never trusted for anything but display.
                if (a["ip-address"]?.GetValue<string>() is { } text && System.Net.IPAddress.TryParse(text, out var ip) && !System.Net.IPAddress.IsLoopback(ip))
                    list.Add(ip);
            }
        }
        return list;
    }

    private static string Decode(JsonNode? b64) =>
        b64?.GetValue<string>() is { Length: > 0 } s ? Encoding.UTF8.GetString(Convert.FromBase64String(s)) : "";

    public ValueTask DisposeAsync() => _connection.DisposeAsync();
}

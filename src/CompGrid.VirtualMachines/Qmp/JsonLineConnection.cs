using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace CompGrid.VirtualMachines.Qmp;

/// <summary>
/// One line-delimited JSON connection over a unix socket, the wire both QMP and the QEMU guest agent speak: every
/// command carries an <c>id</c> the server echoes, so one reader matches replies to callers and passes events (and
/// the greeting) on. Replies nobody waits for (a command that timed out, a parse error for garbage) are dropped.
/// </summary>
internal sealed class JsonLineConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly string _what;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<JsonObject>> _pending = new();
    private readonly Channel<JsonObject> _events = Channel.CreateUnbounded<JsonObject>(new() { SingleReader = true });
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly CancellationTokenSource _closed = new();
    private readonly Task _reader;
    private long _nextId;

    private JsonLineConnection(Socket socket, string what, TimeProvider time)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _what = what;
        _time = time;
        _reader = Task.Run(ReadLoopAsync);
    }

    /// <summary>Messages that are not replies: QMP events and the QMP greeting.</summary>
    public ChannelReader<JsonObject> Events => _events.Reader;

    /// <summary>Whether the server closed the connection (the VM exited).</summary>
    public bool IsClosed => _closed.IsCancellationRequested;

    public static async Task<JsonLineConnection> ConnectAsync(string socketPath, string what, TimeProvider time, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new JsonLineConnection(socket, what, time);
    }

    /// <summary>Sends <paramref name="command"/> and returns its <c>return</c> value; an <c>error</c> reply throws.</summary>
    public async Task<JsonNode?> ExecuteAsync(string command, JsonObject? arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        string id = "cg" + Interlocked.Increment(ref _nextId).ToString(CultureInfo.InvariantCulture);
        var message = new JsonObject { ["execute"] = command, ["id"] = id };
        if (arguments is not null) message["arguments"] = arguments;
        var reply = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = reply;
        using var timeoutCts = new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutCts.Token, _closed.Token);
        try
        {
            byte[] line = Encoding.UTF8.GetBytes(message.ToJsonString() + "\n");
            await _writeLock.WaitAsync(linked.Token).ConfigureAwait(false);
            try { await _stream.WriteAsync(line, linked.Token).ConfigureAwait(false); }
            finally { _writeLock.Release(); }
            var answer = await reply.Task.WaitAsync(linked.Token).ConfigureAwait(false);
            if (answer["error"] is JsonObject error)
                throw new CompGridException($"{_what} command '{command}' failed: {error["class"]}: {error["desc"]}")
                { Code = CompGridErrorCodes.GuestAgentError, Operation = command };
            return answer["return"];
        }
        catch (OperationCanceledException) when (timeoutCts.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new CompGridException($"{_what} command '{command}' got no answer within {timeout.TotalSeconds:0.#} s.")
            { Code = CompGridErrorCodes.Timeout, Operation = command, IsTransient = true };
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException && _closed.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new CompGridException($"{_what} closed the connection during '{command}'.", ex)
            { Code = CompGridErrorCodes.Unavailable, Operation = command, IsTransient = true };
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[64 * 1024];
        var line = new MemoryStream();
        try
        {
            while (true)
            {
                int n = await _stream.ReadAsync(buffer).ConfigureAwait(false);
                if (n == 0) break;
                int start = 0;
                for (int i = 0; i < n; i++)
                {
                    if (buffer[i] != (byte)'\n') continue;
                    line.Write(buffer, start, i - start);
                    Dispatch(line.GetBuffer().AsSpan(0, (int)line.Length));
                    line.SetLength(0);
                    start = i + 1;
                }
                line.Write(buffer, start, n - start);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            // The peer went away; callers see it through _closed.
        }
        finally
        {
            _closed.Cancel();
            _events.Writer.TryComplete();
        }
    }

    private void Dispatch(ReadOnlySpan<byte> bytes)
    {
        // 0xFF is the guest agent's parser-reset byte; it never belongs to a message.
        int skip = 0;
        while (skip < bytes.Length && bytes[skip] == 0xFF) skip++;
        bytes = bytes[skip..];
        if (bytes.IsEmpty) return;
        JsonObject? message;
        try { message = JsonNode.Parse(bytes) as JsonObject; }
        catch (JsonException) { return; }
        if (message is null) return;
        if (message["id"] is JsonValue idValue && idValue.TryGetValue<string>(out var id))
        {
            if (_pending.TryGetValue(id, out var waiter)) waiter.TrySetResult(message);
            return;
        }
        if (message.ContainsKey("event") || message.ContainsKey("QMP")) _events.Writer.TryWrite(message);
    }

    public async ValueTask DisposeAsync()
    {
        try { _socket.Shutdown(SocketShutdown.Both); } catch (Exception ex) when (ex is SocketException or ObjectDisposedException) { }
        await _stream.DisposeAsync().ConfigureAwait(false);
        try { await _reader.ConfigureAwait(false); } catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException) { }
        _closed.Dispose();
        _writeLock.Dispose();
    }
}

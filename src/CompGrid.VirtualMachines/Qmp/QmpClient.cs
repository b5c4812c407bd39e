using System.Text.Json.Nodes;

namespace CompGrid.VirtualMachines.Qmp;

/// <summary>An event QEMU reported over QMP (<c>SHUTDOWN</c>, <c>POWERDOWN</c>, <c>RESET</c>, <c>STOP</c>, <c>RESUME</c>, …).</summary>
internal sealed record QmpEvent(string Name, DateTimeOffset At, JsonObject? Data)
{
    public override string ToString() => Data is null ? Name : $"{Name} {Data.ToJsonString()}";
}

/// <summary>
/// The QEMU Machine Protocol over the VM's monitor socket: reads the greeting, negotiates capabilities, then runs
/// commands and collects events. Hand-written because no QMP client package is served here.
/// </summary>
internal sealed class QmpClient : IAsyncDisposable
{
    private readonly JsonLineConnection _connection;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;
    private readonly Task _events;
    private readonly List<QmpEvent> _seen = [];

    private QmpClient(JsonLineConnection connection, TimeSpan timeout, TimeProvider time, Action<QmpEvent>? onEvent)
    {
        _connection = connection;
        _timeout = timeout;
        _time = time;
        _events = Task.Run(async () =>
        {
            await foreach (var message in connection.Events.ReadAllAsync().ConfigureAwait(false))
            {
                if (message["event"]?.GetValue<string>() is not { } name) continue;
                var e = new QmpEvent(name, _time.GetUtcNow(), message["data"] as JsonObject);
                lock (_seen) _seen.Add(e);
                onEvent?.Invoke(e);
            }
        });
    }

    /// <summary>The events seen so far, oldest first.</summary>
    public IReadOnlyList<QmpEvent> Seen { get { lock (_seen) return [.. _seen]; } }

    /// <summary>Whether QEMU closed the monitor (it exited).</summary>
    public bool IsClosed => _connection.IsClosed;

    public static async Task<QmpClient> ConnectAsync(string socketPath, TimeSpan timeout, TimeProvider time, Action<QmpEvent>? onEvent, CancellationToken cancellationToken)
    {
        var connection = await JsonLineConnection.ConnectAsync(socketPath, "QMP", time, cancellationToken).ConfigureAwait(false);
        try
        {
            // The greeting comes first; capabilities negotiation leaves "capabilities mode" so commands are accepted.
            using var cts = new CancellationTokenSource(timeout, time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, cts.Token);
            var greeting = await connection.Events.ReadAsync(linked.Token).ConfigureAwait(false);
            if (!greeting.ContainsKey("QMP"))
                throw new CompGridException($"QMP at {socketPath} did not greet (got {greeting.ToJsonString()}).") { Code = CompGridErrorCodes.GuestAgentError };
            await connection.ExecuteAsync("qmp_capabilities", null, timeout, cancellationToken).ConfigureAwait(false);
            return new QmpClient(connection, timeout, time, onEvent);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public Task<JsonNode?> ExecuteAsync(string command, JsonObject? arguments = null, CancellationToken cancellationToken = default) =>
        _connection.ExecuteAsync(command, arguments, _timeout, cancellationToken);

    /// <summary>The run state (<c>running</c>, <c>paused</c>, <c>shutdown</c>, …) from <c>query-status</c>.</summary>
    public async Task<string> QueryStatusAsync(CancellationToken cancellationToken = default)
    {
        var r = await ExecuteAsync("query-status", null, cancellationToken).ConfigureAwait(false);
        return r?["status"]?.GetValue<string>() ?? throw new CompGridException("QMP query-status returned no status.") { Code = CompGridErrorCodes.UnexpectedOutput };
    }

    /// <summary>Whether the guest side of the character device <paramref name="label"/> is open (the guest agent listens).</summary>
    public async Task<bool> IsFrontendOpenAsync(string label, CancellationToken cancellationToken = default)
    {
        var r = await ExecuteAsync("query-chardev", null, cancellationToken).ConfigureAwait(false);
        return r is JsonArray devices && devices.OfType<JsonObject>().Any(d =>
            d["label"]?.GetValue<string>() == label && d["frontend-open"]?.GetValue<bool>() == true);
    }

    public async ValueTask DisposeAsync()
    {
        await _connection.DisposeAsync().ConfigureAwait(false);
        await _events.ConfigureAwait(false);
    }
}

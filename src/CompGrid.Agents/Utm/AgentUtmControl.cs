using System.Collections.Concurrent;
using CompGrid.Agents.Protocol;
using Microsoft.Extensions.Logging;

namespace CompGrid.Agents;

/// <summary>
/// Request/response over the agent channel: each request gets a fresh id, waits for the answer with that id from the
/// same machine (an answer from another connection's token is ignored), and gives up after
/// <see cref="AgentBackendOptions.UtmCommandTimeout"/> on the injected clock.
/// </summary>
internal sealed class AgentUtmControl(AgentRegistry registry, IAgentChannel channel, TimeProvider time, ILogger logger) : IUtmControl
{
    private readonly ConcurrentDictionary<string, (string Machine, TaskCompletionSource<UtmResponse> Answer)> _pending = new(StringComparer.Ordinal);

    /// <summary>Requests waiting for their answer (for tests and diagnostics).</summary>
    public int Pending => _pending.Count;

    public async Task<UtmResponse> RunAsync(string host, UtmCommand command, string vm = "", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(host);
        vm ??= "";
        if (!Enum.IsDefined(command))
            throw Error(host, command, $"{(int)command} is not a UTM command.", CompGridErrorCodes.Invalid, transient: false);
        if (command != UtmCommand.List && UtmCommandLine.Refusal(vm) is { } refusal)
            throw Error(host, command, $"vm: {refusal}.", CompGridErrorCodes.Invalid, transient: false);
        var (connection, utm) = registry.UtmHost(host);
        if (connection is null) throw Error(host, command, $"the agent on '{host}' is not connected.", CompGridErrorCodes.Unavailable, transient: true);
        if (!utm) throw Error(host, command, $"the agent on '{host}' does not run utmctl (set Agent:Utm:Enabled on that Mac).", CompGridErrorCodes.Unavailable, transient: false);

        string id = Guid.NewGuid().ToString("N");
        var answer = new TaskCompletionSource<UtmResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = (host, answer);
        try
        {
            using var timeout = new CancellationTokenSource(registry.Options.UtmCommandTimeout, time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
            try
            {
                await channel.SendAsync(connection, AgentProtocol.RunUtm, new UtmRequest { RequestId = id, Command = command, Vm = vm }, linked.Token).ConfigureAwait(false);
                var response = await answer.Task.WaitAsync(linked.Token).ConfigureAwait(false);
                Log.UtmCommand(logger, host, command.ToString(), vm, response.Error ?? "ok");
                if (response.Error is { } error) throw Error(host, command, $"utmctl on '{host}' failed for '{vm}': {error}", CompGridErrorCodes.Unavailable, transient: false);
                return response;
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw Error(host, command, $"the agent on '{host}' did not answer within {registry.Options.UtmCommandTimeout.TotalSeconds} s.", CompGridErrorCodes.Timeout, transient: true);
            }
            catch (Exception ex) when (ex is not (OperationCanceledException or CompGridException))
            {
                throw Error(host, command, $"cannot reach the agent on '{host}': {ex.Message}", CompGridErrorCodes.Unavailable, transient: true, ex);
            }
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary>An agent's answer; only the machine the request went to can complete it.</summary>
    public bool Complete(string machine, UtmResponse response)
    {
        if (!_pending.TryGetValue(response.RequestId ?? "", out var pending) || pending.Machine != machine) return false;
        return pending.Answer.TrySetResult(response);
    }

    private static CompGridException Error(string host, UtmCommand command, string message, string code, bool transient, Exception? inner = null) =>
        new($"UTM {command} on '{host}': {message}", inner) { Operation = "utm-" + command.ToString().ToLowerInvariant(), Code = code, IsTransient = transient };
}

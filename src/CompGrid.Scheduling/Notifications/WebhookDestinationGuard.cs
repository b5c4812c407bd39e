using System.Net;
using System.Net.Http;
using System.Net.Sockets;

namespace CompGrid.Notifications;

/// <summary>
/// The webhook client's connect step (a <see cref="SocketsHttpHandler.ConnectCallback"/>): resolves the host once,
/// classifies every address, and connects to an allowed one itself, so the address checked is the address used
/// (no second resolution between check and connect). Refusals are <see cref="CompGridException"/>s that are not transient.
/// </summary>
internal sealed class WebhookDestinationGuard
{
    private readonly IReadOnlyList<IPNetwork> _allowed;
    private readonly Func<string, CancellationToken, Task<IPAddress[]>> _resolve;

    public WebhookDestinationGuard(IReadOnlyList<IPNetwork> allowed, Func<string, CancellationToken, Task<IPAddress[]>>? resolve = null)
    {
        _allowed = allowed;
        _resolve = resolve ?? ((host, ct) => Dns.GetHostAddressesAsync(host, ct));
    }

    /// <summary>The addresses of <paramref name="host"/> a webhook may connect to; throws naming each refused address and its scope.</summary>
    public async Task<IReadOnlyList<IPAddress>> ResolveAllowedAsync(string host, CancellationToken ct)
    {
        string literal = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        IPAddress[] addresses;
        if (IPAddress.TryParse(literal, out var ip)) addresses = [ip];
        else
        {
            try { addresses = await _resolve(host, ct).ConfigureAwait(false); }
            catch (SocketException ex)
            {
                throw new CompGridException($"Webhook host '{host}' could not be resolved: {ex.Message}", ex) { Operation = "webhook", IsTransient = true };
            }
        }
        var allowed = addresses.Where(a => NetworkAddressClassifier.IsAllowed(a, _allowed)).ToList();
        if (allowed.Count == 0)
        {
            string refused = string.Join(", ", addresses.Select(a => $"{a} ({NetworkAddressClassifier.Classify(a)})"));
            throw new CompGridException(
                $"Webhook destination '{host}' is refused: {(addresses.Length == 0 ? "it has no address" : refused)} is not a public address and is not in WebhookNotifierOptions.AllowedNetworks.")
            { Operation = "webhook", IsTransient = false };
        }
        return allowed;
    }

    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var endpoint = context.DnsEndPoint;
        Exception? last = null;
        foreach (var address in await ResolveAllowedAsync(endpoint.Host, ct).ConfigureAwait(false))
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, endpoint.Port), ct).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                last = ex;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        throw new CompGridException($"Webhook destination '{endpoint.Host}:{endpoint.Port}' could not be reached: {last?.Message}", last) { Operation = "webhook", IsTransient = true };
    }
}

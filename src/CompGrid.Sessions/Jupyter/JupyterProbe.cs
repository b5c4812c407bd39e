using System.Net.Http.Headers;
using System.Text.Json;

namespace CompGrid.Sessions.Jupyter;

/// <summary>What the server says about itself: <c>GET /api</c> (it answers) and <c>GET /api/status</c> (idleness).</summary>
internal sealed class JupyterProbe(HttpClient http)
{
    /// <summary>The server's status, or null when it does not answer (yet).</summary>
    public async Task<JupyterStatus?> StatusAsync(Uri upstream, string basePath, string token, CancellationToken cancellationToken)
    {
        // /api/status does not move last_activity (other token requests would): polling it keeps nothing alive.
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(upstream, basePath.TrimStart('/') + "api/status"));
        request.Headers.Authorization = new AuthenticationHeaderValue("token", token);
        try
        {
            using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode) return null;
            using var doc = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), cancellationToken: cancellationToken).ConfigureAwait(false);
            var root = doc.RootElement;
            return new JupyterStatus(
                root.TryGetProperty("kernels", out var k) && k.TryGetInt32(out int kernels) ? kernels : 0,
                root.TryGetProperty("connections", out var c) && c.TryGetInt32(out int connections) ? connections : 0,
                root.TryGetProperty("last_activity", out var a) && a.TryGetDateTimeOffset(out var last) ? last : null);
        }
        catch (HttpRequestException) { return null; }
        catch (JsonException) { return null; }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested) { return null; }   // the client's timeout
    }
}

/// <summary>The fields of <c>/api/status</c> that decide idleness.</summary>
internal sealed record JupyterStatus(int Kernels, int Connections, DateTimeOffset? LastActivity)
{
    /// <summary>Idle: nothing running, nobody connected, and untouched for at least <paramref name="limit"/> before <paramref name="now"/>.</summary>
    public bool IsIdle(DateTimeOffset now, TimeSpan limit) => Kernels == 0 && Connections == 0 && LastActivity is { } last && now - last >= limit;
}

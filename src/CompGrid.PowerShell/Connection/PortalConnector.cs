using CompGrid.Client;

namespace CompGrid.PowerShell;

/// <summary>Opens a connection to a portal's HTTP API through <see cref="CompGridClient"/> (bearer token).</summary>
internal static class PortalConnector
{
    public static async Task<CompGridConnection> ConnectAsync(Uri uri, string token, CancellationToken cancellationToken)
    {
        CompGridHttpClient client;
        try { client = CompGridClient.Create(new CompGridClientOptions { BaseAddress = uri, Token = token }); }
        catch (ArgumentException ex) { throw new JobValidationException("Uri", ex.Message); }
        try
        {
            // Asking who we are checks the address and the token at once, and names the user jobs run as.
            var me = await client.GetCallerAsync(cancellationToken).ConfigureAwait(false);
            return new CompGridConnection(CompGridConnectionKind.Portal, uri.ToString(), me.Name, client, new PortalBilling(client), new ClientLifetime(client));
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    private sealed class ClientLifetime(CompGridHttpClient client) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            client.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

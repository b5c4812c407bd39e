using System.Net;
using System.Net.Sockets;

namespace CompGrid.Sessions.Diagnostics;

/// <summary>What the session and service managers share: their poll loop on the injected clock, and free loopback ports.</summary>
internal static class Polling
{
    /// <summary>Runs <paramref name="check"/> every <paramref name="interval"/> until cancelled; a failed pass is reported and the next one tries again.</summary>
    public static async Task RunAsync(Func<CancellationToken, Task> check, TimeSpan interval, TimeProvider time, Action<Exception> failed, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try { await check(cancellationToken).ConfigureAwait(false); }
            catch (Exception ex) when (ex is not OperationCanceledException) { failed(ex); }
            try { await Task.Delay(interval, time, cancellationToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>A port free on 127.0.0.1 now (the OS picks it), for a server the manager is about to start.</summary>
    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace CompGrid.Scheduling.Tests.Notifications;

/// <summary>A real HTTP server on 127.0.0.1 (HttpListener) that records each request and answers with <see cref="Respond"/>.</summary>
internal sealed class LoopbackHttpServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _serve;

    public LoopbackHttpServer()
    {
        Port = FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _serve = Task.Run(ServeAsync);
    }

    public int Port { get; }

    public Uri Url(string path = "/hook") => new($"http://127.0.0.1:{Port}{path}");

    public ConcurrentQueue<Received> Requests { get; } = new();

    /// <summary>Completes with the first request.</summary>
    public TaskCompletionSource<Received> FirstRequest { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Action<HttpListenerResponse> Respond { get; set; } = r => r.StatusCode = 204;

    internal sealed record Received(string Method, string Path, IReadOnlyDictionary<string, string?> Headers, byte[] Body);

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); } catch (Exception) { return; }
            using var ms = new MemoryStream();
            await ctx.Request.InputStream.CopyToAsync(ms);
            var headers = ctx.Request.Headers.AllKeys.Where(k => k is not null).ToDictionary(k => k!, k => ctx.Request.Headers[k], StringComparer.OrdinalIgnoreCase);
            var r = new Received(ctx.Request.HttpMethod, ctx.Request.Url!.AbsolutePath, headers, ms.ToArray());
            Requests.Enqueue(r);
            FirstRequest.TrySetResult(r);
            Respond(ctx.Response);
            ctx.Response.Close();
        }
    }

    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _serve.Wait(TimeSpan.FromSeconds(5));
    }
}

/// <summary>A TCP server on 127.0.0.1 that accepts connections and never answers.</summary>
internal sealed class SilentLoopbackServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentBag<TcpClient> _clients = [];
    private readonly Task _accept;

    public SilentLoopbackServer()
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accept = Task.Run(AcceptAsync);
    }

    public int Port { get; }

    public Uri Url => new($"http://127.0.0.1:{Port}/hook");

    /// <summary>Completes when the first connection is accepted.</summary>
    public TaskCompletionSource Connected { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int Connections => _clients.Count;

    private async Task AcceptAsync()
    {
        while (true)
        {
            TcpClient c;
            try { c = await _listener.AcceptTcpClientAsync(); } catch (Exception) { return; }
            _clients.Add(c);
            Connected.TrySetResult();
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        foreach (var c in _clients) c.Dispose();
        _accept.Wait(TimeSpan.FromSeconds(5));
    }
}

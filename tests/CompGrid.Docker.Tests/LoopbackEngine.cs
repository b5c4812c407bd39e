using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CompGrid.Docker.Tests;

/// <summary>
/// A fake Docker engine served over real HTTP on 127.0.0.1 (Kestrel, port 0), so the backend's Docker.DotNet client
/// talks to it exactly as to dockerd over TCP. Each request is handed to <c>respond</c> as an
/// <see cref="HttpRequestMessage"/>; while <see cref="Down"/> is set every connection is aborted (a dead engine).
/// </summary>
internal sealed class LoopbackEngine : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly List<string> _requests = [];
    private readonly List<(string Request, IReadOnlyDictionary<string, string> Headers)> _detailed = [];

    private LoopbackEngine(WebApplication app, string endpoint)
    {
        _app = app;
        Endpoint = endpoint;
    }

    /// <summary>The engine's endpoint, <c>http://127.0.0.1:port</c>.</summary>
    public string Endpoint { get; }

    /// <summary>When true, connections are aborted without an answer.</summary>
    public volatile bool Down;

    /// <summary>Every request seen, as <c>METHOD /path?query</c>.</summary>
    public IReadOnlyList<string> Requests { get { lock (_requests) return [.. _requests]; } }

    /// <summary>The request headers of the requests whose line contains <paramref name="fragment"/>.</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, string>> HeadersOf(string fragment)
    {
        lock (_requests) return _detailed.Where(d => d.Request.Contains(fragment, StringComparison.Ordinal)).Select(d => d.Headers).ToList();
    }

    public static async Task<LoopbackEngine> StartAsync(Func<HttpRequestMessage, Task<HttpResponseMessage>> respond)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        LoopbackEngine? engine = null;
        app.Run(async context =>
        {
            if (engine!.Down) { context.Abort(); return; }
            using var request = await ToMessageAsync(context.Request);
            string line = request.Method + " " + request.RequestUri!.PathAndQuery;
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            lock (engine._requests)
            {
                engine._requests.Add(line);
                engine._detailed.Add((line, headers));
            }
            using var response = await respond(request);
            await WriteAsync(context.Response, response);
        });
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        engine = new LoopbackEngine(app, address.TrimEnd('/'));
        return engine;
    }

    /// <summary>A responder from a synchronous function.</summary>
    public static Task<LoopbackEngine> StartAsync(Func<HttpRequestMessage, HttpResponseMessage> respond) =>
        StartAsync(r => Task.FromResult(respond(r)));

    private static async Task<HttpRequestMessage> ToMessageAsync(HttpRequest request)
    {
        var message = new HttpRequestMessage(new HttpMethod(request.Method), new Uri("http://engine" + request.Path + request.QueryString));
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body);
        message.Content = new ByteArrayContent(body.ToArray());
        foreach (var (key, value) in request.Headers)
            if (!message.Headers.TryAddWithoutValidation(key, value.ToArray())) message.Content.Headers.TryAddWithoutValidation(key, value.ToArray());
        return message;
    }

    private static async Task WriteAsync(HttpResponse response, HttpResponseMessage message)
    {
        response.StatusCode = (int)message.StatusCode;
        foreach (var (key, values) in message.Headers) response.Headers[key] = values.ToArray();
        if (message.Content is null) return;
        foreach (var (key, values) in message.Content.Headers)
            if (!key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)) response.Headers[key] = values.ToArray();
        byte[] bytes = await message.Content.ReadAsByteArrayAsync();
        if (bytes.Length > 0 || message.StatusCode is not (HttpStatusCode.NoContent or HttpStatusCode.NotModified)) await response.Body.WriteAsync(bytes);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

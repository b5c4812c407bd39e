using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using CompGrid.Sessions;
using Yarp.ReverseProxy.Forwarder;

namespace CompGrid.SampleHost.Sessions;

/// <summary>
/// The portal's reverse proxy in front of notebook servers (YARP's forwarder): <c>/sessions/{id}/…</c> is forwarded to
/// the session's server on 127.0.0.1, for the session's owner only (anyone else gets 404, unauthenticated callers 401).
/// The caller's portal credentials and cookies never reach the server; the proxy authenticates upstream with the
/// session's own token, which users never see.
/// </summary>
public sealed class SessionProxy : IDisposable
{
    private readonly HttpMessageInvoker _invoker = new(new SocketsHttpHandler
    {
        UseProxy = false, AllowAutoRedirect = false, AutomaticDecompression = DecompressionMethods.None, UseCookies = false,
        ConnectTimeout = TimeSpan.FromSeconds(5),
    });

    /// <summary>Forwards one request, or answers it with 404/503.</summary>
    public async Task<IResult> ForwardAsync(HttpContext context, string id, JupyterSessions sessions, IHttpForwarder forwarder)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(sessions);
        ArgumentNullException.ThrowIfNull(forwarder);
        if (sessions.Get(id) is not { } s || s.Owner != context.User.FindFirstValue(ClaimTypes.Name)) return SessionEndpoints.NotFound(id);
        if (s.State != SessionState.Ready || s.Upstream is null)
            return Results.Problem($"Session '{id}' is {s.State}.", statusCode: StatusCodes.Status503ServiceUnavailable, title: "Session not ready");
        var error = await forwarder.SendAsync(context, s.Upstream.ToString(), _invoker, ForwarderRequestConfig.Empty, new TokenTransformer(s.Token));
        return error == ForwarderError.None || context.Response.HasStarted ? Results.Empty
            : Results.Problem($"Session '{id}' did not answer ({error}).", statusCode: StatusCodes.Status502BadGateway, title: "Bad gateway");
    }

    /// <inheritdoc/>
    public void Dispose() => _invoker.Dispose();

    private sealed class TokenTransformer(string token) : HttpTransformer
    {
        public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
        {
            await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
            proxyRequest.Headers.Authorization = new AuthenticationHeaderValue("token", token);
            proxyRequest.Headers.Remove("Cookie");
            // The notebook checks a WebSocket's Origin against its own host; the portal already authorised the caller.
            proxyRequest.Headers.Remove("Origin");
        }
    }
}

/// <summary>Registers the proxy.</summary>
public static class SessionProxyExtensions
{
    /// <summary>Adds YARP's forwarder and the session proxy.</summary>
    public static IServiceCollection AddSessionProxy(this IServiceCollection services)
    {
        services.AddHttpForwarder();
        services.AddSingleton<SessionProxy>();
        return services;
    }

    /// <summary>Maps <c>{prefix}/{id}/…</c> to the proxy (authenticated).</summary>
    public static IEndpointRouteBuilder MapSessionProxy(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        string prefix = app.ServiceProvider.GetRequiredService<JupyterSessions>().Options.PathPrefix;
        app.Map(prefix + "/{id}/{**rest}", (HttpContext context, string id, JupyterSessions sessions, IHttpForwarder forwarder, SessionProxy proxy) =>
            proxy.ForwardAsync(context, id, sessions, forwarder)).RequireAuthorization()
            .ExcludeFromDescription(); // a reverse proxy to the notebook's own API, not part of CompGrid's
        return app;
    }
}

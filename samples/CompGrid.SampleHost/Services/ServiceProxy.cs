using System.Net;
using System.Security.Claims;
using CompGrid.Sessions.Services;
using Yarp.ReverseProxy.Forwarder;

namespace CompGrid.SampleHost.Services;

/// <summary>
/// The portal's proxy in front of services (YARP's forwarder): <c>/services/{name}/{rest}</c> goes to <c>/{rest}</c> on
/// one healthy replica on 127.0.0.1, chosen by the service's balancing policy. Only the owner gets through unless the
/// service is public (others: 404; no credentials: 401). A replica that refuses the connection is marked unhealthy at
/// once and a request without a body is sent to another replica, so killing a replica loses no request. The caller's
/// portal credentials and cookies never reach the service.
/// </summary>
public sealed class ServiceProxy : IDisposable
{
    private readonly HttpMessageInvoker _invoker = new(new SocketsHttpHandler
    {
        UseProxy = false, AllowAutoRedirect = false, AutomaticDecompression = DecompressionMethods.None, UseCookies = false,
        ConnectTimeout = TimeSpan.FromSeconds(5),
    });

    /// <summary>Forwards one request, or answers it with 401/404/503/502.</summary>
    public async Task<IResult> ForwardAsync(HttpContext context, string name, string? rest, ServiceManager services, IHttpForwarder forwarder)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(forwarder);
        var service = services.Get(name);
        if (service is null || !service.Spec.Public)
        {
            if (context.User.Identity?.IsAuthenticated != true) return Results.Unauthorized();
            if (service is null || service.Owner != context.User.FindFirstValue(ClaimTypes.Name)) return ServiceEndpoints.NotFound(name);
        }
        var transformer = new PathTransformer("/" + (rest ?? ""));
        bool retryable = HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method)
            || (context.Request.ContentLength is 0 or null && !context.Request.Headers.TransferEncoding.Any());
        for (int attempt = 0; ; attempt++)
        {
            using var lease = services.Acquire(name);
            if (lease is null)
                return Results.Problem($"Service '{name}' has no healthy replica.", statusCode: StatusCodes.Status503ServiceUnavailable, title: "No healthy replica");
            var error = await forwarder.SendAsync(context, lease.Upstream.ToString(), _invoker, ForwarderRequestConfig.Empty, transformer);
            if (error == ForwarderError.None) return Results.Empty;
            if (error == ForwarderError.Request) lease.Fail();   // could not connect: passive health
            if (context.Response.HasStarted) return Results.Empty;
            if (error == ForwarderError.Request && retryable && attempt < 2)
            {
                context.Response.Clear();
                context.Features.Set<IForwarderErrorFeature>(null);
                continue;
            }
            return Results.Problem($"Service '{name}' did not answer ({error}).", statusCode: StatusCodes.Status502BadGateway, title: "Bad gateway");
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _invoker.Dispose();

    private sealed class PathTransformer(string path) : HttpTransformer
    {
        public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
        {
            await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
            // The service sees its own paths: /services/{name}/x arrives as /x.
            proxyRequest.RequestUri = RequestUtilities.MakeDestinationAddress(destinationPrefix, new PathString(path), httpContext.Request.QueryString);
            proxyRequest.Headers.Authorization = null;
            proxyRequest.Headers.Remove("Cookie");
            proxyRequest.Headers.Remove("X-CSRF-TOKEN");
        }
    }
}

using System.Security.Claims;
using CompGrid.Billing;
using CompGrid.SampleHost.Dashboard;
using CompGrid.Sessions.Services;
using Yarp.ReverseProxy.Forwarder;
using static CompGrid.SampleHost.Api.ApiResults;

namespace CompGrid.SampleHost.Services;

/// <summary>
/// The service API: <c>POST /api/services</c> deploys one (its replicas are jobs of the caller, charged like any),
/// <c>GET</c> lists or shows them with replicas, requests per second and cost so far, <c>DELETE /api/services/{name}</c>
/// removes one. The service itself is reached through <see cref="ServiceProxy"/> at <c>/services/{name}/</c>.
/// </summary>
public static class ServiceEndpoints
{
    /// <summary>The body of deployService: flat, like a job's. One of <see cref="Command"/> or <see cref="Executable"/>.</summary>
    public sealed record DeployRequest
    {
        /// <summary>The name (path segment).</summary>
        public string? Name { get; init; }
        /// <summary>A shell command run by each replica; it listens on 127.0.0.1:$PORT.</summary>
        public string? Command { get; init; }
        /// <summary>Or an executable with <see cref="Arguments"/>.</summary>
        public string? Executable { get; init; }
        /// <summary>The executable's arguments.</summary>
        public IReadOnlyList<string>? Arguments { get; init; }
        /// <summary>Replicas to start with, the fewest (default 2).</summary>
        public int? Replicas { get; init; }
        /// <summary>The most replicas autoscaling may run (default: <see cref="Replicas"/>).</summary>
        public int? MaxReplicas { get; init; }
        /// <summary>Requests per second per replica above which it scales up.</summary>
        public double? TargetRequestsPerSecond { get; init; }
        /// <summary>The health check's path (default <c>/</c>).</summary>
        public string? HealthPath { get; init; }
        /// <summary>Seconds between health checks (default 5).</summary>
        public double? HealthIntervalSeconds { get; init; }
        /// <summary>Seconds one check may take (default 2).</summary>
        public double? HealthTimeoutSeconds { get; init; }
        /// <summary>Failed checks in a row before a replica is replaced (default 3).</summary>
        public int? UnhealthyAfter { get; init; }
        /// <summary>Reachable by anyone, not only its owner.</summary>
        public bool? Public { get; init; }
        /// <summary><c>RoundRobin</c> (default) or <c>LeastRequests</c>.</summary>
        public BalancingPolicy? Balancing { get; init; }
        /// <summary>The grant to charge.</summary>
        public string? Account { get; init; }
        /// <summary>CPUs per replica (default 1).</summary>
        public int? Cpus { get; init; }
        /// <summary>Memory per replica in MiB.</summary>
        public long? MemoryMiB { get; init; }
    }

    /// <summary>A service with its cost so far: the sum of its replica jobs' charges, and estimates for those running.</summary>
    public sealed record ServiceView(ServiceInfo Service, DashboardEndpoints.JobCost? Cost);

    /// <summary>Maps the service endpoints and the proxy.</summary>
    public static IEndpointRouteBuilder MapServiceEndpoints(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var api = app.MapGroup("/api/services").RequireAuthorization();
        api.MapPost("", async (HttpRequest request, ClaimsPrincipal user, ServiceManager services, ICompGridClient grid, GrantBillingService billing, TimeProvider time, CancellationToken ct) =>
        {
            var (body, invalid) = await ReadJsonAsync<DeployRequest>(request, ct);
            if (invalid is not null) return invalid;
            if (ToSpec(body!, Name(user), out var spec) is { } bad) return bad;
            try
            {
                var s = await services.DeployAsync(spec!, ct);
                return Results.Created($"/api/services/{s.Name}", await ViewAsync(s, grid, billing, time, ct));
            }
            catch (JobValidationException ex) { return Invalid([.. ex.Errors]); }
            catch (JobPolicyException ex) { return PolicyDenied(ex); }
            catch (InsufficientFundsException ex) { return Results.Problem(ex.Message, statusCode: 402, title: "Insufficient funds"); }
            catch (JobRejectedException ex) { return Results.Problem(ex.Message, statusCode: ex.Code == CompGridErrorCodes.NotAMember ? 403 : 422, title: "Service rejected"); }
            catch (CompGridException ex) when (ex.Code == CompGridErrorCodes.ServiceExists) { return Results.Problem(ex.Message, statusCode: 409, title: "Conflict"); }
        }).RequireRateLimiting(Api.RequestLimits.SubmitPolicy);
        api.MapGet("", async (ClaimsPrincipal user, ServiceManager services, ICompGridClient grid, GrantBillingService billing, TimeProvider time, CancellationToken ct) =>
        {
            var views = new List<ServiceView>();
            foreach (var s in services.List(IsAdmin(user) ? null : Name(user))) views.Add(await ViewAsync(s, grid, billing, time, ct));
            return Results.Ok(views);
        });
        api.MapGet("/{name}", async (string name, ClaimsPrincipal user, ServiceManager services, ICompGridClient grid, GrantBillingService billing, TimeProvider time, CancellationToken ct) =>
            Visible(name, user, services) is { } s ? Results.Ok(await ViewAsync(s, grid, billing, time, ct)) : NotFound(name));
        api.MapDelete("/{name}", async (string name, ClaimsPrincipal user, ServiceManager services, CancellationToken ct) =>
            Visible(name, user, services) is null ? NotFound(name) : Results.Ok(await services.DeleteAsync(name, Name(user), ct)));

        // The proxy: anonymous at the routing level, since a public service needs no sign-in; ServiceProxy checks the owner.
        string prefix = app.ServiceProvider.GetRequiredService<ServiceManager>().Options.PathPrefix;
        // The route also matches "/services/{name}" (no slash): that is redirected, so relative links resolve under the prefix.
        app.Map(prefix + "/{name}/{**rest}", (HttpContext context, string name, string? rest, ServiceManager services, IHttpForwarder forwarder, ServiceProxy proxy) =>
            string.IsNullOrEmpty(rest) && context.Request.Path.Value?.EndsWith('/') != true
                ? Task.FromResult(Results.Redirect(context.Request.PathBase + prefix + "/" + Uri.EscapeDataString(name) + "/"))
                : proxy.ForwardAsync(context, name, rest, services, forwarder)).AllowAnonymous()
            .ExcludeFromDescription();   // forwards to the service's own API, not CompGrid's
        return app;
    }

    /// <summary>Adds YARP's forwarder and the service proxy.</summary>
    public static IServiceCollection AddServiceProxy(this IServiceCollection services)
    {
        services.AddHttpForwarder();
        services.AddSingleton<ServiceProxy>();
        return services;
    }

    internal static IResult NotFound(string name) => Results.Problem($"Service '{name}' was not found.", statusCode: 404, title: "Not found");

    // The owner and administrators see a service's record; only the owner (or anyone, when public) reaches it.
    private static ServiceInfo? Visible(string name, ClaimsPrincipal user, ServiceManager services) =>
        services.Get(name) is { } s && (s.Owner == Name(user) || IsAdmin(user)) ? s : null;

    private static IResult? ToSpec(DeployRequest body, string owner, out ServiceSpec? spec)
    {
        spec = null;
        JobPayload? payload = (body.Command, body.Executable) switch
        {
            ({ Length: > 0 } c, null) => JobPayload.Command(c),
            (null, { Length: > 0 } e) => JobPayload.Exec(e, [.. body.Arguments ?? []]),
            _ => null,
        };
        if (payload is null) return Invalid(new ValidationError("command", "give exactly one of command or executable"));
        if (body.Name is null) return Invalid(new ValidationError("name", "is required"));
        var errors = new List<ValidationError>();
        TimeSpan Seconds(double? value, double fallback, string field)
        {
            double v = value ?? fallback;
            if (!double.IsFinite(v) || v <= 0 || v > 3600) { errors.Add(new(field, "must be between 0 and 3600 seconds")); return TimeSpan.FromSeconds(fallback); }
            return TimeSpan.FromSeconds(v);
        }
        var interval = Seconds(body.HealthIntervalSeconds, 5, "healthIntervalSeconds");
        var timeout = Seconds(body.HealthTimeoutSeconds, Math.Min(2, interval.TotalSeconds), "healthTimeoutSeconds");
        if (errors.Count > 0) return Invalid([.. errors]);
        spec = new ServiceSpec
        {
            Name = body.Name, Owner = owner, Account = body.Account, Payload = payload,
            MinReplicas = body.Replicas ?? 2, MaxReplicas = body.MaxReplicas, TargetRequestsPerSecond = body.TargetRequestsPerSecond,
            HealthPath = body.HealthPath ?? "/", HealthInterval = interval, HealthTimeout = timeout, UnhealthyAfter = body.UnhealthyAfter ?? 3,
            Public = body.Public ?? false, Balancing = body.Balancing ?? BalancingPolicy.RoundRobin, Cpus = body.Cpus ?? 1, MemoryMiB = body.MemoryMiB ?? 0,
        };
        return null;
    }

    // The cost is the sum of every replica job's: charged from the ledger once it ended, estimated while it runs.
    private static async Task<ServiceView> ViewAsync(ServiceInfo s, ICompGridClient grid, GrantBillingService billing, TimeProvider time, CancellationToken ct)
    {
        var jobs = new List<JobRecord>();
        foreach (string id in s.JobIds)
            if (await grid.GetJobAsync(id, ct) is { } j) jobs.Add(j);
        var now = time.GetUtcNow();
        var charged = await DashboardEndpoints.ChargesByJobAsync(jobs, billing, now, ct);
        decimal total = 0m;
        string? currency = null;
        bool final = true, any = false;
        foreach (var j in jobs)
        {
            if (await DashboardEndpoints.CostAsync(j, charged, billing, now, ct) is not { } c) continue;
            any = true;
            total += c.Amount;
            currency ??= c.Currency;
            final &= c.Final;
        }
        return new ServiceView(s, any ? new DashboardEndpoints.JobCost(total, currency!, final) : null);
    }
}

using System.Globalization;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace CompGrid.SampleHost.Api;

/// <summary>How many requests of one kind a user may make per window.</summary>
public sealed class RateLimitRule
{
    /// <summary>Requests allowed per window and user. <value>The default is 60.</value></summary>
    public int PermitLimit { get; set; } = 60;

    /// <summary>The window. <value>The default is 1 minute.</value></summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>
/// The work one request may cause (<c>CompGrid:Limits</c>): body size, per-user rate limits on submit, quote and
/// simulation, and the bounds of a simulation. Validated at start-up by <see cref="RequestLimitsOptionsValidator"/>.
/// </summary>
public sealed class RequestLimitsOptions
{
    /// <summary>The largest request body, in bytes (Kestrel's limit; larger bodies get 413). <value>The default is 4 MiB.</value></summary>
    public long MaxRequestBodyBytes { get; set; } = 4 << 20;

    /// <summary>Per-user limit of <c>POST /api/jobs</c>. <value>The default is 60 per minute.</value></summary>
    public RateLimitRule Submit { get; set; } = new();

    /// <summary>Per-user limit of <c>POST /api/quotes</c>. <value>The default is 120 per minute.</value></summary>
    public RateLimitRule Quote { get; set; } = new() { PermitLimit = 120 };

    /// <summary>Per-user limit of <c>POST /api/simulations</c>. <value>The default is 10 per minute.</value></summary>
    public RateLimitRule Simulation { get; set; } = new() { PermitLimit = 10 };

    /// <summary>The most jobs a simulation may generate. <value>The default is 20000.</value></summary>
    public int MaxSimulationJobs { get; set; } = 20_000;

    /// <summary>The most nodes of a simulated cluster. <value>The default is 1024.</value></summary>
    public int MaxSimulationNodes { get; set; } = 1024;

    /// <summary>
    /// The longest a simulation request may compute before it is stopped (422); it also stops when the client goes
    /// away. <value>The default is 30 seconds.</value>
    /// </summary>
    public TimeSpan MaxSimulationDuration { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>The one validator of <see cref="RequestLimitsOptions"/>.</summary>
public sealed class RequestLimitsOptionsValidator : IValidateOptions<RequestLimitsOptions>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, RequestLimitsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.MaxRequestBodyBytes < 1024) failures.Add("Limits:MaxRequestBodyBytes: must be at least 1024");
        foreach (var (rule, path) in new[] { (options.Submit, "Submit"), (options.Quote, "Quote"), (options.Simulation, "Simulation") })
        {
            if (rule is null) { failures.Add($"Limits:{path}: is required"); continue; }
            if (rule.PermitLimit < 1) failures.Add($"Limits:{path}:PermitLimit: must be at least 1");
            if (rule.Window <= TimeSpan.Zero) failures.Add($"Limits:{path}:Window: must be positive");
        }
        if (options.MaxSimulationJobs < 1) failures.Add("Limits:MaxSimulationJobs: must be at least 1");
        if (options.MaxSimulationNodes < 1) failures.Add("Limits:MaxSimulationNodes: must be at least 1");
        if (options.MaxSimulationDuration <= TimeSpan.Zero) failures.Add("Limits:MaxSimulationDuration: must be positive");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Registers the request limits: Kestrel's body limit and ASP.NET Core's rate limiter, partitioned by user.</summary>
public static class RequestLimits
{
    /// <summary>The rate-limiting policy of <c>POST /api/jobs</c>.</summary>
    public const string SubmitPolicy = "submit";

    /// <summary>The rate-limiting policy of <c>POST /api/quotes</c>.</summary>
    public const string QuotePolicy = "quote";

    /// <summary>The rate-limiting policy of <c>POST /api/simulations</c>.</summary>
    public const string SimulationPolicy = "simulation";

    /// <summary>Adds the limits with options from <paramref name="section"/>.</summary>
    public static IServiceCollection AddRequestLimits(this IServiceCollection services, IConfiguration section)
    {
        services.AddOptions<RequestLimitsOptions>().Bind(section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RequestLimitsOptions>, RequestLimitsOptionsValidator>();
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<RequestLimitsOptions>>((k, limits) => k.Limits.MaxRequestBodySize = limits.Value.MaxRequestBodyBytes);
        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.OnRejected = OnRejectedAsync;
            AddPolicy(o, SubmitPolicy, l => l.Submit);
            AddPolicy(o, QuotePolicy, l => l.Quote);
            AddPolicy(o, SimulationPolicy, l => l.Simulation);
        });
        return services;
    }

    // One fixed window per authenticated user and policy: one user's burst does not use up another's allowance.
    private static void AddPolicy(RateLimiterOptions o, string policy, Func<RequestLimitsOptions, RateLimitRule> rule) =>
        o.AddPolicy(policy, context =>
        {
            var r = rule(context.RequestServices.GetRequiredService<IOptions<RequestLimitsOptions>>().Value);
            string user = context.User.Identity?.IsAuthenticated == true ? context.User.FindFirstValue(ClaimTypes.Name) ?? "" : "";
            return RateLimitPartition.GetFixedWindowLimiter(user, _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = r.PermitLimit, Window = r.Window, QueueLimit = 0, AutoReplenishment = true,
            });
        });

    private static async ValueTask OnRejectedAsync(OnRejectedContext context, CancellationToken cancellationToken)
    {
        var http = context.HttpContext;
        string retry = "";
        if (context.Lease.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan after))
        {
            int seconds = Math.Max(1, (int)Math.Ceiling(after.TotalSeconds));
            http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            retry = $" Retry after {seconds} s.";
        }
        await Results.Problem($"Too many requests of this kind from {http.User.Identity?.Name ?? "this caller"}.{retry}",
            statusCode: StatusCodes.Status429TooManyRequests, title: "Too many requests").ExecuteAsync(http);
    }
}

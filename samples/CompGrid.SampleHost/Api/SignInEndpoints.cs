using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using static CompGrid.SampleHost.Api.ApiResults;

namespace CompGrid.SampleHost.Api;

/// <summary>The dashboard's sign-in (<c>CompGrid:SignIn</c>). Validated at start-up by <see cref="SignInOptionsValidator"/>.</summary>
public sealed class SignInOptions
{
    /// <summary>How long a session lasts without use (sliding). <value>The default is 8 hours.</value></summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(8);

    /// <summary>
    /// Sign-in attempts allowed per client address and window (right or wrong), so a password cannot be guessed
    /// quickly. <value>The default is 10 per minute.</value>
    /// </summary>
    public RateLimitRule Attempts { get; set; } = new() { PermitLimit = 10 };

    /// <summary>
    /// Whether the session cookie is sent over HTTPS only. Off, it is marked <c>Secure</c> whenever the request came
    /// over HTTPS (plain HTTP is for loopback development and tests). <value>The default is false.</value>
    /// </summary>
    public bool RequireHttps { get; set; }
}

/// <summary>The one validator of <see cref="SignInOptions"/>.</summary>
public sealed class SignInOptionsValidator : IValidateOptions<SignInOptions>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, SignInOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.SessionLifetime < TimeSpan.FromMinutes(1)) failures.Add("SignIn:SessionLifetime: must be at least 1 minute");
        if (options.Attempts is null) failures.Add("SignIn:Attempts: is required");
        else
        {
            if (options.Attempts.PermitLimit < 1) failures.Add("SignIn:Attempts:PermitLimit: must be at least 1");
            if (options.Attempts.Window <= TimeSpan.Zero) failures.Add("SignIn:Attempts:Window: must be positive");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>
/// Sign-in for the dashboard: a user name and that user's secret (their API token; only its SHA-256 is configured)
/// exchanged for a session cookie (HttpOnly, SameSite=Strict). Requests with <c>Authorization: Bearer</c> keep using
/// the token; every other request is read from the cookie. A state change made with the cookie must carry the
/// antiforgery token (<c>X-CSRF-TOKEN</c>, from <c>GET /api/session</c>).
/// </summary>
public static class SignInEndpoints
{
    /// <summary>The default scheme: bearer when an <c>Authorization</c> header is present, otherwise the cookie.</summary>
    public const string SchemeName = "CompGrid";

    /// <summary>The session cookie's scheme.</summary>
    public const string CookieScheme = CookieAuthenticationDefaults.AuthenticationScheme;

    /// <summary>The header carrying the antiforgery token.</summary>
    public const string AntiforgeryHeader = "X-CSRF-TOKEN";

    /// <summary>The rate-limiting policy of <c>POST /api/session</c>.</summary>
    public const string SignInPolicy = "sign-in";

    private const string Refused = "The user name or the secret is wrong.";

    /// <summary>Adds the bearer token and the session cookie behind one default scheme, the antiforgery service and the sign-in rate limit.</summary>
    public static IServiceCollection AddPortalAuthentication(this IServiceCollection services, IConfiguration signInSection)
    {
        services.AddOptions<SignInOptions>().Bind(signInSection).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SignInOptions>, SignInOptionsValidator>();
        services.AddAuthentication(SchemeName)
            .AddPolicyScheme(SchemeName, "Bearer token or session cookie", o =>
                o.ForwardDefaultSelector = c => c.Request.Headers.Authorization.Count > 0 ? BearerTokenHandler.SchemeName : CookieScheme)
            .AddScheme<AuthenticationSchemeOptions, BearerTokenHandler>(BearerTokenHandler.SchemeName, null)
            .AddCookie(CookieScheme, o =>
            {
                o.Cookie.Name = "compgrid.session";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Strict;
                o.SlidingExpiration = true;
                // An API answers 401/403; it never redirects to a login page.
                o.Events.OnRedirectToLogin = c => { c.Response.StatusCode = StatusCodes.Status401Unauthorized; return Task.CompletedTask; };
                o.Events.OnRedirectToAccessDenied = c => { c.Response.StatusCode = StatusCodes.Status403Forbidden; return Task.CompletedTask; };
            });
        services.AddOptions<CookieAuthenticationOptions>(CookieScheme).Configure<IOptions<SignInOptions>>((o, s) =>
        {
            o.ExpireTimeSpan = s.Value.SessionLifetime;
            o.Cookie.SecurePolicy = s.Value.RequireHttps ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
        });
        services.AddAntiforgery(o =>
        {
            o.HeaderName = AntiforgeryHeader;
            o.Cookie.Name = "compgrid.antiforgery";
            o.Cookie.SameSite = SameSiteMode.Strict;
        });
        services.AddRateLimiter(o => o.AddPolicy(SignInPolicy, context =>
        {
            var rule = context.RequestServices.GetRequiredService<IOptions<SignInOptions>>().Value.Attempts;
            string client = context.Connection.RemoteIpAddress?.ToString() ?? "";
            return RateLimitPartition.GetFixedWindowLimiter(client, _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = rule.PermitLimit, Window = rule.Window, QueueLimit = 0, AutoReplenishment = true,
            });
        }));
        return services;
    }

    /// <summary>
    /// Refuses (400) a state-changing request authenticated by the session cookie that lacks a valid antiforgery
    /// token. Bearer requests need none: a browser never adds that header on its own. Place after authentication.
    /// </summary>
    public static IApplicationBuilder UsePortalAntiforgery(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method) && !HttpMethods.IsOptions(context.Request.Method)
                && context.User.Identity is { IsAuthenticated: true, AuthenticationType: CookieScheme })
            {
                var antiforgery = context.RequestServices.GetRequiredService<IAntiforgery>();
                if (!await antiforgery.IsRequestValidAsync(context))
                {
                    await Results.Problem($"A change made with the session cookie needs the {AntiforgeryHeader} header from GET /api/session.",
                        statusCode: StatusCodes.Status400BadRequest, title: "Missing or invalid antiforgery token").ExecuteAsync(context);
                    return;
                }
            }
            await next(context);
        });

    /// <summary>
    /// <c>POST /api/session</c> (sign in, JSON <c>{"user","secret"}</c>), <c>GET /api/session</c> (who is signed in,
    /// and the antiforgery token), <c>DELETE /api/session</c> (sign out).
    /// </summary>
    public static IEndpointRouteBuilder MapSignInEndpoints(this IEndpointRouteBuilder app)
    {
        // Sign-in takes JSON only: a cross-site form cannot send it without a CORS preflight, which this host never grants.
        app.MapPost("/api/session", async (HttpContext context, IOptionsMonitor<SampleUsersOptions> users, CancellationToken ct) =>
        {
            if (!context.Request.HasJsonContentType()) return Invalid(new ValidationError("body", "must be JSON (Content-Type: application/json)"));
            var (body, invalid) = await ReadJsonAsync<SignInRequest>(context.Request, ct);
            if (body is null) return invalid!;
            var errors = new List<ValidationError>();
            if (string.IsNullOrEmpty(body.User)) errors.Add(new ValidationError("user", "is required"));
            if (string.IsNullOrEmpty(body.Secret)) errors.Add(new ValidationError("secret", "is required"));
            if (errors.Count > 0) return Invalid([.. errors]);
            if (!Verify(users.CurrentValue, body.User!, body.Secret!, out var user))
                return Results.Problem(Refused, statusCode: StatusCodes.Status401Unauthorized, title: "Sign-in refused");
            var claims = new List<Claim> { new(ClaimTypes.Name, body.User!) };
            claims.AddRange(user.Roles.Select(r => new Claim(ClaimTypes.Role, r)));
            await context.SignInAsync(CookieScheme, new ClaimsPrincipal(new ClaimsIdentity(claims, CookieScheme)));
            return Results.Ok(new { name = body.User, roles = user.Roles });
        }).AllowAnonymous().RequireRateLimiting(SignInPolicy);

        app.MapGet("/api/session", (HttpContext context, IAntiforgery antiforgery) =>
        {
            var user = context.User;
            // The token is bound to the signed-in user; bearer callers need none.
            string? token = user.Identity?.AuthenticationType == CookieScheme ? antiforgery.GetAndStoreTokens(context).RequestToken : null;
            return Results.Ok(new
            {
                name = Name(user),
                roles = user.FindAll(ClaimTypes.Role).Select(c => c.Value).ToList(),
                antiforgeryToken = token,
            });
        }).RequireAuthorization();

        app.MapDelete("/api/session", async (HttpContext context) =>
        {
            await context.SignOutAsync(CookieScheme);
            return Results.NoContent();
        }).RequireAuthorization();
        return app;
    }

    /// <summary>The body of <c>POST /api/session</c>.</summary>
    public sealed record SignInRequest(string? User, string? Secret);

    // The same work whether or not the user exists, and one answer for both: sign-in does not tell who has an account.
    private static bool Verify(SampleUsersOptions options, string name, string secret, out SampleUser user)
    {
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(secret));
        bool known = options.Users.TryGetValue(name, out var found);
        user = found ?? new SampleUser();
        byte[] expected = new byte[hash.Length];
        if (known && found!.TokenSha256.Length == 2 * hash.Length)
        {
            try { expected = Convert.FromHexString(found.TokenSha256); }
            catch (FormatException) { known = false; }
        }
        else known = false;
        bool match = CryptographicOperations.FixedTimeEquals(expected, hash);
        return known && match;
    }
}

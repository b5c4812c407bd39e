using CompGrid.EmbeddedPortal.Admission;
using CompGrid.EmbeddedPortal.Api;
using CompGrid.EmbeddedPortal.Authentication;
using CompGrid.EmbeddedPortal.Backends;
using Microsoft.Extensions.Options;

namespace CompGrid.EmbeddedPortal;

/// <summary>The portal's composition: CompGrid's services, the portal's sign-in and rules, and its endpoints.</summary>
public static class Portal
{
    /// <summary>
    /// Registers everything on <paramref name="builder"/> and maps the endpoints. A test may register its own
    /// <see cref="TimeProvider"/> before calling this (CompGrid only adds the system clock when none is registered).
    /// </summary>
    public static WebApplication Build(WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var portal = builder.Configuration.GetSection("Portal");
        var compGrid = builder.Configuration.GetSection("CompGrid");
        string contentRoot = builder.Environment.ContentRootPath;

        // 1. CompGrid: the engine (options bound from CompGrid:*), a SQLite store, one backend chosen by configuration.
        var grid = builder.Services.AddCompGrid()
            .BindConfiguration(compGrid)
            .UseSqliteStore(Path.GetFullPath(portal["DatabasePath"] ?? "portal.db", contentRoot));
        if (string.Equals(portal["Backend"], "Local", StringComparison.OrdinalIgnoreCase))
            grid.AddLocalBackend("local", compGrid.GetSection("Local"));
        else
        {
            grid.AddProcessBackend("proc", compGrid.GetSection("Process"));
            builder.Services.PostConfigure<ProcessBackendOptions>("proc", o => o.WorkDirectory = Path.GetFullPath(o.WorkDirectory, contentRoot));
        }

        // 2. The custom admission check, with its options and the injected clock.
        builder.Services.Configure<OfficeHoursOptions>(portal.GetSection("OfficeHours"));
        builder.Services.AddSingleton<IAdmissionCheck, OfficeHoursCheck>();

        // 3. The portal's own sign-in (API keys, hashed in configuration) and the job-owner rule.
        builder.Services.AddAuthentication(ApiKeyOptions.Scheme)
            .AddScheme<ApiKeyOptions, ApiKeyAuthenticationHandler>(ApiKeyOptions.Scheme, o => portal.Bind(o));
        builder.Services.AddSingleton<IValidateOptions<ApiKeyOptions>, ApiKeyOptionsValidator>();
        builder.Services.AddOptions<ApiKeyOptions>(ApiKeyOptions.Scheme).ValidateOnStart();
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(JobOwnerRequirement.Policy, p => p.RequireAuthenticatedUser().AddRequirements(new JobOwnerRequirement()));
        builder.Services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationHandler, JobOwnerHandler>();

        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<ErrorResults>();

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapGet("/healthz", () => "ok").AllowAnonymous();
        app.MapJobEndpoints();
        return app;
    }
}

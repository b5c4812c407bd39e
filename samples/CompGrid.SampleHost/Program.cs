using CompGrid;
using CompGrid.SampleHost;
using CompGrid.SampleHost.Api;
using CompGrid.SampleHost.Sessions;
using CompGrid.SampleHost.Services;
using CompGrid.SampleHost.Dashboard;
using CompGrid.SampleHost.Instances;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.Json;

var builder = WebApplication.CreateBuilder(args);
var config = builder.Configuration.GetSection("CompGrid");

// Where the embedded default keeps its state: the SQLite file and the local backend's job directories.
string dataDirectory = Path.GetFullPath(config["DataDirectory"] ?? "App_Data", builder.Environment.ContentRootPath);
Directory.CreateDirectory(dataDirectory);
if (OperatingSystem.IsLinux() && Environment.IsPrivilegedProcess)
{
    // Local jobs run as other users and pass through here to their own directory under local/jobs: they may enter this
    // directory (0711) but not list it, and the database is the portal's alone (0600; SQLite gives -wal/-shm its mode).
    File.SetUnixFileMode(dataDirectory, (UnixFileMode)0b111_001_001);
    string db = Path.Combine(dataDirectory, "compgrid.db");
    using (File.Open(db, FileMode.OpenOrCreate)) { }
    foreach (string f in (string[])[db, db + "-wal", db + "-shm"])
        if (File.Exists(f)) File.SetUnixFileMode(f, UnixFileMode.UserRead | UnixFileMode.UserWrite);
}

builder.Services.Configure<JsonOptions>(o =>
{
    o.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.CamelCase;
    o.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull;
    o.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter());
});
builder.Services.AddProblemDetails();
builder.Services.AddCompGridOpenApi();   // /openapi/v1.json and the /scalar page (Api/OpenApiEndpoints.cs)

var grid = builder.Services.AddCompGrid()
    .BindConfiguration(config)
    .AddLocalBackend("local", config.GetSection("Local"))
    .Configure(o => o.DefaultBackend ??= "local")
    .UseSqliteStore(Path.Combine(dataDirectory, "compgrid.db"))
    .AddStewardship(config.GetSection("Stewardship"))   // admission order: stewardship, then billing's hold
    .AddSampleGrantBilling(config.GetSection("Billing"), Path.Combine(dataDirectory, "compgrid.db"))
    .ConfigureScheduling(config.GetSection("Scheduling"))
    .AddJobPolicy(config.GetSection("Policy"))          // what each role may ask for; runs before every other admission check
    .AddNotificationOutbox(config.GetSection("Notifications:Outbox"));

// Notifications leave through the outbox in the job store. Webhooks are always signed: enabled once a secret is set
// (CompGrid:Notifications:Webhook:SigningSecret, from a secret store or the environment, never a checked-in file).
if (config["Notifications:Webhook:SigningSecret"] is { Length: > 0 })
    grid.AddWebhookNotifier(config.GetSection("Notifications:Webhook"));
if (config["Notifications:Email:Host"] is { Length: > 0 })   // CompGrid:Notifications:Email:Host, From, Port, Security, …
    grid.AddEmailNotifier(config.GetSection("Notifications:Email"));

// Several portal instances share PostgreSQL instead of the embedded SQLite file (jobs and the billing ledger).
if (config["PostgreSql:ConnectionString"] is { Length: > 0 } postgres)
{
    grid.UsePostgreSqlStore(postgres, o => o.Schema = config["PostgreSql:Schema"] is { Length: > 0 } schema ? schema : o.Schema);
    grid.UsePostgreSqlBillingStore(postgres, o => o.Schema = config["PostgreSql:Schema"] is { Length: > 0 } schema ? schema : o.Schema);
}

// Optional backends, each enabled by its configuration section (see README.md and docs/backends/).
if (config.GetSection("Docker:Engines").GetChildren().Any())
    grid.AddDockerBackend(config["Docker:Name"] ?? "lab", config.GetSection("Docker"));
foreach (var cluster in config.GetSection("Slurm").GetChildren())   // CompGrid:Slurm:<name>:Transport=Ssh|Rest|Cli, …
    grid.AddSlurmBackend(cluster.Key, cluster);
bool agents = config.GetSection("Agents:Machines").GetChildren().Any();   // lab machines running compgrid-agent (docs/backends/agents.md)
if (agents)
    grid.AddAgentBackend("agents", config.GetSection("Agents"));
if (config.GetSection("Availability:Pools").GetChildren().Any())   // node pools open only in their windows (docs/policy.md)
    grid.AddAvailabilityWindows(config.GetSection("Availability"));
grid.AddSampleVirtualMachines(config.GetSection("VirtualMachines"));   // QEMU nodes and leased instances, each when configured (Instances/)
builder.Services.PostConfigure<CompGrid.Local.LocalBackendOptions>("local", o =>
{
    if (string.IsNullOrEmpty(config["Local:StateDirectory"])) o.StateDirectory = Path.Combine(dataDirectory, "local");
});

builder.Services.Configure<SampleUsersOptions>(config);
builder.Services.AddSingleton<IJobCallerProvider, SampleUserCallers>();   // the job policy sees the configured users' roles
builder.Services.AddRequestLimits(config.GetSection("Limits"));           // body size, per-user rate limits, simulation bounds
builder.Services.AddFileStaging(config.GetSection("Files"), dataDirectory);  // uploads for inputs, downloadable outputs
grid.AddJupyterSessions(config.GetSection("Sessions:Jupyter"));              // Jupyter sessions as jobs, ended when idle
builder.Services.AddSessionProxy();                                          // /sessions/{id}/… to the owner's notebook
grid.AddServiceManager(config.GetSection("Services"));                      // long-running services: replicas as jobs, health checks, autoscaling
builder.Services.AddServiceProxy();                                          // /services/{name}/… balanced over healthy replicas
builder.Services.AddPortalAuthentication(config.GetSection("SignIn"));     // bearer tokens for scripts, a session cookie for the dashboard
builder.Services.AddPortalMetrics();                                       // GET /metrics: the CompGrid Meter as Prometheus text
builder.Services.AddAuthorizationBuilder()
    .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());

var app = builder.Build();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseDefaultFiles();
app.UseStaticFiles();
app.UseAuthentication();
app.UsePortalAntiforgery();   // cookie-authenticated changes need the antiforgery header
app.UseAuthorization();
app.UseRateLimiter();   // after authentication: partitioned by the user
app.MapJobEndpoints();
app.MapBillingEndpoints();
app.MapInstanceEndpoints();
app.MapSimulationEndpoints();
if (agents)
    app.MapCompGridAgents();   // /agents/hub: only connections with a configured machine token
app.MapFileEndpoints();
app.MapSessionEndpoints();
app.MapSessionProxy();
app.MapServiceEndpoints();
app.MapSignInEndpoints();
app.MapDashboardEndpoints();
app.MapPortalMetrics();
app.MapCompGridOpenApi();
// "ok active" on the instance that schedules, "ok standby" on the others (several instances on PostgreSQL).
app.MapGet("/healthz", (CompGridEngine engine) => Results.Text(engine.IsActiveScheduler ? "ok active" : "ok standby")).AllowAnonymous();

if (app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<SampleUsersOptions>>().Value.Users.Count == 0)
    app.Logger.LogWarning("No users are configured (CompGrid:Users): every API request will be refused. See README.md.");

app.Run();

using CompGrid.Billing;
using CompGrid.SampleHost.Dashboard;
using CompGrid.Ordering;
using CompGrid.Simulation;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace CompGrid.SampleHost.Api;

/// <summary>
/// The OpenAPI document of the whole HTTP API (<c>GET /openapi/v1.json</c>, anonymous) and its Scalar reference page
/// (<c>GET /scalar</c>, anonymous). The job and billing endpoints read their bodies themselves (so a bad body is a 400
/// naming the field, never a 500), which hides their types from the API explorer: <see cref="Catalogue"/> describes each
/// of them — name, tag, summary, body, answers and problem answers. Endpoints that carry their own metadata
/// (<c>WithName</c>, <c>WithTags</c>, <c>Produces</c>) keep it. Route handlers missing from the document are listed under
/// <c>x-compgrid-undescribed</c>, which a test requires to be absent.
/// </summary>
public static class OpenApiEndpoints
{
    /// <summary>The document's name (its address is <c>/openapi/{name}.json</c>).</summary>
    public const string DocumentName = "v1";

    /// <summary>The document extension that lists undescribed route handlers (absent when every one is described).</summary>
    public const string UndescribedExtension = "x-compgrid-undescribed";

    private const string Json = "application/json";
    private const string ProblemJson = "application/problem+json";

    /// <summary>One operation: its id, tag, summary, request body, success answers and the problem statuses it can answer with.</summary>
    private sealed record Operation(string Id, string Tag, string Summary, Type? Body, (int Status, Type? Type, string ContentType)[] Answers, int[] Problems,
        bool Anonymous = false, bool BodyOptional = false);

    // Problem statuses every authenticated endpoint can answer with (no token, rate limits apply only where named).
    private static readonly int[] Auth = [401];

    private static readonly Dictionary<string, Operation> Catalogue = new(StringComparer.Ordinal)
    {
        ["POST api/jobs"] = new("submitJob", "Jobs", "Submit a job (the caller is its owner); it is Queued, or AwaitingApproval under the stewardship rule",
            typeof(JobRequest), [(201, typeof(JobRecord), Json)], [400, 401, 402, 403, 413, 422, 429]),
        ["GET api/jobs"] = new("listJobs", "Jobs", "List jobs, newest first: the caller's own (administrators: all, or one owner's), filtered by state, account, backend and submission time",
            null, [(200, typeof(List<JobRecord>), Json)], [400, 401]),
        ["GET api/jobs/{id}"] = new("getJob", "Jobs", "Get one job", null, [(200, typeof(JobRecord), Json)], [401, 404]),
        ["GET api/jobs/{id}/history"] = new("getJobHistory", "Jobs", "Get a job's state transitions, oldest first", null, [(200, typeof(List<JobTransition>), Json)], [401, 404]),
        ["GET api/jobs/{id}/usage"] = new("getJobUsage", "Jobs", "Get a job's usage record (204 until it is terminal and metered)",
            null, [(200, typeof(UsageRecord), Json), (204, null, "")], [401, 404]),
        ["POST api/jobs/{id}/cancel"] = new("cancelJob", "Jobs", "Cancel a job in any non-terminal state (a terminal job is returned unchanged)", null, [(200, typeof(JobRecord), Json)], [401, 404]),
        ["GET api/jobs/{id}/logs"] = new("getJobLogs", "Jobs", "Get a job's output so far: standard output, then standard error", null, [(200, typeof(string), "text/plain")], [401, 404]),
        ["POST api/jobs/{id}/approve"] = new("approveJob", "Approvals", "Approve a job waiting for approval (administrators)",
            typeof(DecisionRequest), [(200, typeof(JobRecord), Json)], [400, 401, 403, 404, 409], BodyOptional: true),
        ["POST api/jobs/{id}/reject"] = new("rejectJob", "Approvals", "Reject a job waiting for approval, with a reason (administrators)",
            typeof(DecisionRequest), [(200, typeof(JobRecord), Json)], [400, 401, 403, 404, 409]),
        ["GET api/jobs/{id}/priority"] = new("getJobPriority", "Scheduling", "Break a queued job's priority down by factor (like sprio)",
            null, [(200, typeof(PriorityExplanation), Json)], [401, 404]),
        ["GET api/nodes"] = new("listNodes", "Nodes", "List the nodes of every backend with capacity, free resources and state", null, [(200, typeof(List<NodeInfo>), Json)], Auth),
        ["GET api/me"] = new("getCaller", "Account", "Who the bearer token belongs to, with roles", null, [(200, typeof(CallerResponse), Json)], Auth),
        ["GET api/grants"] = new("listGrants", "Billing", "List the grants the caller may charge (administrators: all), with balances",
            null, [(200, typeof(List<GrantWithBalance>), Json)], Auth),
        ["GET api/grants/{code}"] = new("getGrant", "Billing", "Get one grant with its balance", null, [(200, typeof(GrantWithBalance), Json)], [401, 404]),
        ["GET api/grants/{code}/statement"] = new("getStatement", "Billing", "Get a grant's statement for a period (default: this month) as JSON or CSV (format=csv)",
            null, [(200, typeof(Statement), Json), (200, typeof(string), "text/csv")], [400, 401, 404]),
        ["POST api/quotes"] = new("createQuote", "Billing", "Price a job body (as for submitJob) before it runs: its maximum cost and whether the grant covers it; nothing is held",
            typeof(JobRequest), [(200, typeof(QuoteResponse), Json)], [400, 401, 403, 413, 422, 429]),
        ["POST api/grants"] = new("createGrant", "Billing", "Create a grant (administrators)", typeof(Grant), [(201, typeof(GrantWithBalance), Json)], [400, 401, 403, 409, 413]),
        ["POST api/grants/{code}/adjustments"] = new("createAdjustment", "Billing", "Adjust a grant's balance by a signed amount with a reason (administrators)",
            typeof(BillingEndpoints.AdjustmentRequest), [(201, typeof(LedgerEntry), Json)], [400, 401, 403, 404, 413]),
        ["POST api/grants/{code}/allocations"] = new("createAllocation", "Billing", "Allocate funds to a grant, optionally expiring (administrators)",
            typeof(BillingEndpoints.AllocationRequest), [(201, typeof(LedgerEntry), Json)], [400, 401, 403, 404, 413]),
        ["POST api/simulations"] = new("simulate", "Simulation", "Replay a generated workload through the scheduling policies on a virtual clock, optionally under a second configuration",
            typeof(SimulationEndpoints.SimulationRequest), [(200, typeof(SimulationResponse), Json)], [400, 401, 413, 422, 429]),
        ["POST api/session"] = new("signIn", "Account", "Sign in with a configured user's secret: sets the dashboard's session cookie (HttpOnly, SameSite=Strict)",
            typeof(SignInEndpoints.SignInRequest), [(200, typeof(SignedIn), Json)], [400, 401, 429], Anonymous: true),
        ["GET api/session"] = new("getSession", "Account", "Who the session cookie belongs to, with the antiforgery token that cookie-authenticated changes must send",
            null, [(200, typeof(System.Text.Json.Nodes.JsonObject), Json)], Auth),
        ["DELETE api/session"] = new("signOut", "Account", "Sign out: removes the session cookie", null, [(204, null, Json)], [], Anonymous: true),
        ["GET api/dashboard/jobs"] = new("listDashboardJobs", "Dashboard", "The caller's jobs (administrators: all) with their cost so far, from the ledger or estimated while running",
            null, [(200, typeof(List<DashboardEndpoints.JobRow>), Json)], [400, 401]),
        ["GET api/dashboard/usage"] = new("getDashboardUsage", "Dashboard", "Charges per day, user and resource over the last days (default 14)",
            null, [(200, typeof(System.Text.Json.Nodes.JsonObject), Json)], [400, 401]),
        ["POST api/sessions"] = new("openSession", "Sessions", "Open a Jupyter session: a job that runs a notebook server, reached through /sessions/{id}/ by its owner only",
            typeof(System.Text.Json.Nodes.JsonObject), [(201, typeof(CompGrid.Sessions.JupyterSession), Json)], [400, 401, 402, 403, 422], BodyOptional: true),
        ["GET api/sessions"] = new("listSessions", "Sessions", "List the caller's sessions (administrators: all)", null, [(200, typeof(List<CompGrid.Sessions.JupyterSession>), Json)], Auth),
        ["GET api/sessions/{id}"] = new("getJupyterSession", "Sessions", "Get one session", null, [(200, typeof(CompGrid.Sessions.JupyterSession), Json)], [401, 404]),
        ["DELETE api/sessions/{id}"] = new("closeSession", "Sessions", "Close a session: its job is cancelled and its workspace removed", null, [(200, typeof(CompGrid.Sessions.JupyterSession), Json)], [401, 404]),
        ["POST api/services"] = new("deployService", "Services", "Deploy a service: replicas of a command, each a job of the caller listening on 127.0.0.1:$PORT, health-checked, restarted and autoscaled; reached through /services/{name}/",
            typeof(CompGrid.SampleHost.Services.ServiceEndpoints.DeployRequest), [(201, typeof(CompGrid.SampleHost.Services.ServiceEndpoints.ServiceView), Json)], [400, 401, 402, 403, 409, 413, 422, 429]),
        ["GET api/services"] = new("listServices", "Services", "List the caller's services (administrators: all) with replicas, requests per second and cost so far",
            null, [(200, typeof(List<CompGrid.SampleHost.Services.ServiceEndpoints.ServiceView>), Json)], Auth),
        ["GET api/services/{name}"] = new("getService", "Services", "Get one service with its replicas, requests per second and cost so far",
            null, [(200, typeof(CompGrid.SampleHost.Services.ServiceEndpoints.ServiceView), Json)], [401, 404]),
        ["DELETE api/services/{name}"] = new("deleteService", "Services", "Delete a service: its replica jobs are cancelled (and charged like any job)",
            null, [(200, typeof(CompGrid.Sessions.Services.ServiceInfo), Json)], [401, 404]),
        ["POST api/uploads"] = new("upload", "Files", "Upload input files (multipart/form-data, one part per file) for later jobs; answers the upload's id",
            null, [(200, typeof(System.Text.Json.Nodes.JsonObject), Json)], [400, 401, 413, 429]),
        ["GET api/uploads/{id}"] = new("getUpload", "Files", "List the files of one of the caller's uploads", null, [(200, typeof(System.Text.Json.Nodes.JsonObject), Json)], [401, 404]),
        ["GET api/jobs/{id}/outputs"] = new("listJobOutputs", "Files", "List a job's output files (after it ended)", null, [(200, typeof(System.Text.Json.Nodes.JsonObject), Json)], [401, 404]),
        ["GET api/jobs/{id}/outputs/{path}"] = new("getJobOutput", "Files", "Download one output file of a job (regular files only, never links)",
            null, [(200, typeof(byte[]), "application/octet-stream")], [400, 401, 404]),
        ["POST api/instances"] = new("createInstance", "Instances", "Create a VM instance from a template (size) charged to a grant; the caller owns it; it starts stopped",
            typeof(Instances.InstanceEndpoints.CreateInstanceBody), [(201, typeof(Instances.InstanceEndpoints.InstanceResponse), Json)], [400, 401, 404, 413, 429]),
        ["GET api/instances"] = new("listInstances", "Instances", "List the caller's VM instances (all=true: every instance, for administrators and machine owners)",
            null, [(200, typeof(List<CompGrid.VirtualMachines.VirtualMachineInstance>), Json)], [401, 404]),
        ["GET api/instances/{id}"] = new("getInstance", "Instances", "Get one VM instance with its IP address (null when the guest has none)",
            null, [(200, typeof(Instances.InstanceEndpoints.InstanceResponse), Json)], [401, 404]),
        ["DELETE api/instances/{id}"] = new("deleteInstance", "Instances", "Delete a VM instance (stopped and charged first when it runs)",
            null, [(200, typeof(CompGrid.VirtualMachines.VirtualMachineInstance), Json)], [401, 403, 404, 409]),
        ["POST api/instances/{id}/start"] = new("startInstance", "Instances", "Start a stopped VM instance: its first hour is held on the grant, the VM boots",
            null, [(200, typeof(CompGrid.VirtualMachines.VirtualMachineInstance), Json)], [401, 402, 403, 404, 409, 422, 503]),
        ["POST api/instances/{id}/stop"] = new("stopInstance", "Instances", "Stop a VM instance (owner, administrators, machine owners): its running time so far is charged, the VM powers off",
            null, [(200, typeof(CompGrid.VirtualMachines.VirtualMachineInstance), Json)], [401, 404, 409, 503]),
        ["POST api/instances/{id}/suspend"] = new("suspendInstance", "Instances", "Suspend a running VM instance (its vCPUs pause; the meter stops)",
            null, [(200, typeof(CompGrid.VirtualMachines.VirtualMachineInstance), Json)], [401, 404, 409, 503]),
        ["POST api/instances/{id}/resume"] = new("resumeInstance", "Instances", "Resume a suspended VM instance (a new hour is held when the last one ended)",
            null, [(200, typeof(CompGrid.VirtualMachines.VirtualMachineInstance), Json)], [401, 402, 403, 404, 409, 422, 503]),
        ["GET healthz"] = new("health", "Health", "'ok active' on the instance that schedules, 'ok standby' on the others", null, [(200, typeof(string), "text/plain")], [], Anonymous: true),
    };

    /// <summary>Registers the OpenAPI document with the catalogue's descriptions and the bearer scheme.</summary>
    public static IServiceCollection AddCompGridOpenApi(this IServiceCollection services) => services.AddOpenApi(DocumentName, options =>
    {
        options.AddDocumentTransformer((document, context, ct) =>
        {
            document.Info = new OpenApiInfo
            {
                Title = "CompGrid portal API",
                Version = DocumentName,
                Description = "Jobs, approvals, nodes, grants, quotes, statements and simulations. Authenticate with 'Authorization: Bearer <token>'. "
                    + "Errors are RFC 9457 problem details; a 400 names each invalid field under 'errors'.",
            };
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[BearerTokenHandler.SchemeName] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http, Scheme = "bearer", Description = "A user's token; the portal stores only its SHA-256.",
            };
            var undescribed = Undescribed(document, context.ApplicationServices);
            if (undescribed.Count > 0)
                (document.Extensions ??= new Dictionary<string, IOpenApiExtension>())[UndescribedExtension] = new JsonNodeExtension(new System.Text.Json.Nodes.JsonArray([.. undescribed.Select(u => System.Text.Json.Nodes.JsonValue.Create(u))]));
            return Task.CompletedTask;
        });
        options.AddOperationTransformer(async (operation, context, ct) =>
        {
            var d = context.Description;
            if (!Catalogue.TryGetValue($"{d.HttpMethod} {d.RelativePath?.TrimEnd('/').Replace("{**", "{", StringComparison.Ordinal)}", out var op)) return;   // described by its own metadata, or listed as undescribed
            operation.OperationId ??= op.Id;
            operation.Summary ??= op.Summary;
            operation.Tags = new HashSet<OpenApiTagReference> { new(op.Tag, context.Document) };
            if (op.Body is { } body)
                operation.RequestBody = new OpenApiRequestBody
                {
                    Required = !op.BodyOptional,
                    Content = new Dictionary<string, OpenApiMediaType> { [Json] = new() { Schema = await context.GetOrCreateSchemaAsync(body, null, ct) } },
                };
            operation.Responses = new OpenApiResponses();
            foreach (var group in op.Answers.GroupBy(a => a.Status))
            {
                var response = new OpenApiResponse { Description = group.Key == 204 ? "No content" : group.Key == 201 ? "Created" : "OK" };
                foreach (var (_, type, contentType) in group.Where(a => a.Type is not null))
                    (response.Content ??= new Dictionary<string, OpenApiMediaType>())[contentType] = new() { Schema = await context.GetOrCreateSchemaAsync(type!, null, ct) };
                operation.Responses[group.Key.ToString(System.Globalization.CultureInfo.InvariantCulture)] = response;
            }
            foreach (int status in op.Problems)
            {
                var type = status == 400 ? typeof(HttpValidationProblemDetails) : typeof(ProblemDetails);
                operation.Responses[status.ToString(System.Globalization.CultureInfo.InvariantCulture)] = new OpenApiResponse
                {
                    Description = ProblemDescription(status),
                    Content = new Dictionary<string, OpenApiMediaType> { [ProblemJson] = new() { Schema = await context.GetOrCreateSchemaAsync(type, null, ct) } },
                };
            }
            if (!op.Anonymous)
                operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerTokenHandler.SchemeName, context.Document)] = [] }];
        });
    });

    /// <summary>Maps the document and the reference page, both anonymous.</summary>
    public static IEndpointRouteBuilder MapCompGridOpenApi(this IEndpointRouteBuilder app)
    {
        app.MapOpenApi().AllowAnonymous();
        app.MapScalarApiReference(o => o.WithTitle("CompGrid portal API")).AllowAnonymous();
        return app;
    }

    private static string ProblemDescription(int status) => status switch
    {
        400 => "Invalid request: 'errors' names each field and the rule it broke; nothing was stored",
        401 => "No or unknown bearer token",
        402 => "The grant cannot cover the job's quote",
        403 => "Not allowed: role, grant membership or the job policy ('errors' names the fields, 'code' is policy-denied)",
        404 => "Not found, or not visible to the caller",
        409 => "Conflict: the object exists already or is in the wrong state",
        413 => "The request body is larger than allowed",
        422 => "Refused by an admission check, or cannot be priced",
        429 => "Too many requests: the per-user rate limit applies (see Retry-After)",
        _ => "Problem",
    };

    // Route handlers (endpoints with a handler method) that the document does not describe, as "METHOD /path".
    private static List<string> Undescribed(OpenApiDocument document, IServiceProvider services)
    {
        var described = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (path, item) in document.Paths)
            foreach (var (method, _) in item.Operations ?? [])
                described.Add($"{method.Method} {path}");
        var missing = new List<string>();
        foreach (var source in services.GetServices<EndpointDataSource>())
            foreach (var endpoint in source.Endpoints.OfType<RouteEndpoint>())
            {
                if (endpoint.Metadata.GetMetadata<System.Reflection.MethodInfo>() is null) continue;   // proxies and framework pages
                if (endpoint.Metadata.GetMetadata<IExcludeFromDescriptionMetadata>() is { ExcludeFromDescription: true }) continue;
                string pattern = "/" + (endpoint.RoutePattern.RawText ?? "").Trim('/');   // a group's "" route ends in '/'; the document's path does not
                pattern = pattern.Replace("{**", "{", StringComparison.Ordinal).Replace("{*", "{", StringComparison.Ordinal);   // catch-alls are plain parameters in OpenAPI
                if (pattern.StartsWith("/openapi", StringComparison.Ordinal) || pattern.StartsWith("/scalar", StringComparison.Ordinal)) continue;
                foreach (string method in endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["ANY"])
                    if (!described.Contains($"{method} {pattern}")) missing.Add($"{method} {pattern}");
            }
        return missing;
    }

    /// <summary>The optional body of approveJob and the required body of rejectJob.</summary>
    public sealed record DecisionRequest(string? Reason);

    /// <summary>The answer of signIn.</summary>
    public sealed record SignedIn(string Name, IReadOnlyList<string> Roles);

    /// <summary>The answer of getCaller.</summary>
    public sealed record CallerResponse(string Name, IReadOnlyList<string> Roles);

    /// <summary>A grant with its balance (listGrants, getGrant, createGrant).</summary>
    public sealed record GrantWithBalance(Grant Grant, GrantBalance Balance);

    /// <summary>The answer of createQuote.</summary>
    public sealed record QuoteResponse(string? Account, string Currency, decimal Amount, decimal? Spendable, bool? Affordable,
        string RateCard, int RateCardVersion, string Rule, decimal Hours, IReadOnlyList<CostComponent> Components);

    /// <summary>The answer of simulate: the workload's source and one summary per configuration.</summary>
    public sealed record SimulationResponse(string Workload, SimulationSummary A, SimulationSummary? B);

    /// <summary>The metrics of one simulated configuration.</summary>
    public sealed record SimulationSummary(string Configuration, int JobsStarted, int JobsNeverStarted, int Backfilled,
        double MeanWaitSeconds, double MedianWaitSeconds, double P95WaitSeconds, double MaxWaitSeconds, double MeanBoundedSlowdown,
        double Utilization, double MakespanSeconds, double AccountFairness, IReadOnlyList<AccountMetrics> Accounts);
}

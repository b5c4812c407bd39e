using System.Security.Claims;
using CompGrid.Billing;
using CompGrid.VirtualMachines;
using static CompGrid.SampleHost.Api.ApiResults;

namespace CompGrid.SampleHost.Instances;

/// <summary>
/// VMs in the sample host (<c>CompGrid:VirtualMachines</c>): QEMU nodes for jobs (<c>Qemu</c>, enabled when it lists
/// nodes) and instances users lease (<c>Instances</c>, enabled when it lists templates), with the instance API:
/// <list type="bullet">
/// <item><c>POST /api/instances</c> — create one (<c>template</c>, <c>account</c>, optional <c>name</c>); the caller owns it;</item>
/// <item><c>GET /api/instances</c> — the caller's instances (<c>?all=true</c>: every one, for administrators and machine owners);</item>
/// <item><c>GET /api/instances/{id}</c> — one instance with its address; <c>DELETE</c> deletes it;</item>
/// <item><c>POST /api/instances/{id}/start|stop|suspend|resume</c> — transitions.</item>
/// </list>
/// Like jobs, someone else's instance is "not found" (404); administrators and machine owners may stop and suspend
/// every instance but start, resume and delete only their own (403).
/// </summary>
public static class InstanceEndpoints
{
    /// <summary>The name of the instance service (the backend on usage records: rate card rules select it).</summary>
    public const string ServiceName = "instances";

    /// <summary>A create request.</summary>
    public sealed record CreateInstanceBody(string? Template, string? Account, string? Name);

    /// <summary>An instance with its address (from the guest agent, null when it has none).</summary>
    public sealed record InstanceResponse(VirtualMachineInstance Instance, string? Address);

    /// <summary>Registers the QEMU backend and the instance service when their sections are configured.</summary>
    public static ICompGridBuilder AddSampleVirtualMachines(this ICompGridBuilder builder, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        if (section.GetSection("Qemu:Nodes").GetChildren().Any())
            builder.AddQemuBackend(section["Qemu:Name"] ?? "vms", section.GetSection("Qemu"));
        if (section.GetSection("Instances:Qemu:Templates").GetChildren().Any())
        {
            builder.AddVirtualMachineInstances(ServiceName, section.GetSection("Instances"));
            // Each metering period is held on the grant before it starts, by the same rule as a job's hold.
            builder.Services.AddKeyedSingleton<IAdmissionCheck>(VirtualMachineInstances.FundingServiceKey, (sp, _) => sp.GetRequiredService<GrantBillingService>().AdmissionCheck);
        }
        return builder;
    }

    public static IEndpointRouteBuilder MapInstanceEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/instances").RequireAuthorization();

        api.MapPost("", async (HttpRequest request, ClaimsPrincipal user, CancellationToken ct) =>
        {
            if (Service(request.HttpContext) is not { } instances) return NotConfigured();
            var (body, invalid) = await ReadJsonAsync<CreateInstanceBody>(request, ct);
            if (body is null) return invalid!;
            return await RunAsync(async () =>
            {
                var created = await instances.CreateAsync(Caller(user), new CreateInstanceRequest { Template = body.Template ?? "", Account = body.Account ?? "", Name = body.Name }, ct);
                return Results.Created($"/api/instances/{created.Id}", new InstanceResponse(created, null));
            });
        });

        api.MapGet("", async (HttpContext context, ClaimsPrincipal user, bool? all, CancellationToken ct) =>
            Service(context) is { } instances ? Results.Ok(await instances.ListAsync(Caller(user), all == true, ct)) : NotConfigured());

        api.MapGet("/{id}", async (string id, HttpContext context, ClaimsPrincipal user, CancellationToken ct) =>
        {
            if (Service(context) is not { } instances) return NotConfigured();
            var caller = Caller(user);
            return await instances.GetAsync(caller, id, ct) is { } i
                ? Results.Ok(new InstanceResponse(i, await RunAsync(() => instances.GetAddressAsync(caller, id, ct))))
                : InstanceNotFound(id);
        });

        api.MapDelete("/{id}", (string id, HttpContext context, ClaimsPrincipal user, CancellationToken ct) =>
            TransitionAsync(context, (s, c) => s.DeleteAsync(c, id, ct), user));

        foreach (var (action, run) in new (string, Func<VirtualMachineInstances, InstanceCaller, string, CancellationToken, Task<VirtualMachineInstance>>)[]
        {
            ("start", (s, c, id, ct) => s.StartAsync(c, id, ct)),
            ("stop", (s, c, id, ct) => s.StopAsync(c, id, ct)),
            ("suspend", (s, c, id, ct) => s.SuspendAsync(c, id, ct)),
            ("resume", (s, c, id, ct) => s.ResumeAsync(c, id, ct)),
        })
        {
            api.MapPost("/{id}/" + action, (string id, HttpContext context, ClaimsPrincipal user, CancellationToken ct) =>
                TransitionAsync(context, (s, c) => run(s, c, id, ct), user));
        }
        return app;
    }

    private static async Task<IResult> TransitionAsync(HttpContext context, Func<VirtualMachineInstances, InstanceCaller, Task<VirtualMachineInstance>> run, ClaimsPrincipal user)
    {
        if (Service(context) is not { } instances) return NotConfigured();
        return await RunAsync(async () => Results.Ok(await run(instances, Caller(user))));
    }

    // The service's errors as HTTP answers: the field for bad input, 404 for what the caller may not see, 409 for a state.
    private static async Task<IResult> RunAsync(Func<Task<IResult>> action)
    {
        try { return await action(); }
        catch (JobValidationException ex) { return Invalid([.. ex.Errors]); }
        catch (CompGridForbiddenException ex) { return Results.Problem(ex.Message, statusCode: 403, title: "Forbidden"); }
        catch (JobRejectedException ex) { return Results.Problem(ex.Message, statusCode: ex.Code switch { CompGridErrorCodes.InsufficientFunds => 402, CompGridErrorCodes.NotAMember => 403, _ => 422 }, title: "Not funded"); }
        catch (CompGridException ex) when (ex.Code == CompGridErrorCodes.NotFound) { return Results.Problem(ex.Message, statusCode: 404, title: "Not found"); }
        catch (CompGridException ex) when (ex.Code is CompGridErrorCodes.InstanceState) { return Results.Problem(ex.Message, statusCode: 409, title: "Conflict"); }
        catch (CompGridException ex) when (ex.Code is CompGridErrorCodes.Limit) { return Results.Problem(ex.Message, statusCode: 429, title: "Limit reached"); }
        catch (CompGridException ex) when (ex.IsTransient || ex.Code is CompGridErrorCodes.NodeStartFailed) { return Results.Problem(ex.Message, statusCode: 503, title: "VM unavailable"); }
    }

    private static async Task<string?> RunAsync(Func<Task<string?>> address)
    {
        try { return await address(); }
        catch (CompGridException) { return null; }   // the guest agent is busy or the VM stopped meanwhile: no address to show
    }

    private static VirtualMachineInstances? Service(HttpContext context) => context.RequestServices.GetService<VirtualMachineInstances>();

    private static InstanceCaller Caller(ClaimsPrincipal user) => new(Name(user), IsAdmin(user));

    private static IResult InstanceNotFound(string id) => Results.Problem($"Instance '{id}' was not found.", statusCode: 404, title: "Not found");

    private static IResult NotConfigured() =>
        Results.Problem("VM instances are not configured here (CompGrid:VirtualMachines:Instances).", statusCode: 404, title: "Not configured");
}

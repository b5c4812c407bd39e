using System.Security.Claims;
using CompGrid.Backfill;
using CompGrid.Simulation;
using Microsoft.Extensions.Options;
using static CompGrid.SampleHost.Api.ApiResults;

namespace CompGrid.SampleHost.Api;

/// <summary>
/// What-if simulation: <c>POST /api/simulations</c> replays a generated workload through the production scheduling
/// policies on a virtual clock and returns the metrics (and, with <c>compareWith</c>, a second configuration's).
/// Bounded by <see cref="RequestLimitsOptions"/> (jobs, nodes, compute time, a per-user rate) and stopped when the
/// client goes away. <c>GET /api/jobs/{id}/priority</c> breaks a queued job's priority down by factor.
/// </summary>
public static partial class SimulationEndpoints
{
    /// <summary>A simulation request. Unknown policy names are rejected with a problem naming the field.</summary>
    public sealed record SimulationRequest(int Seed = 42, int Jobs = 1000, int Nodes = 64, string Placement = "first-fit", string Ordering = "multifactor",
        bool Backfill = true, SimulationRequest? CompareWith = null);

    public static IEndpointRouteBuilder MapSimulationEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/simulations", async (HttpRequest http, ClaimsPrincipal user, IOptions<RequestLimitsOptions> options, TimeProvider time,
            ILoggerFactory loggers, CancellationToken requestAborted) =>
        {
            var (request, invalid) = await ReadJsonAsync<SimulationRequest>(http, requestAborted);
            if (request is null) return invalid!;
            var limits = options.Value;
            var errors = new List<ValidationError>();
            if (request.Jobs < 1 || request.Jobs > limits.MaxSimulationJobs) errors.Add(new("jobs", $"must be between 1 and {limits.MaxSimulationJobs}"));
            if (request.Nodes < 1 || request.Nodes > limits.MaxSimulationNodes) errors.Add(new("nodes", $"must be between 1 and {limits.MaxSimulationNodes}"));
            if (request.CompareWith?.CompareWith is not null) errors.Add(new("compareWith.compareWith", "must not be set: one comparison per request"));
            if (errors.Count > 0) return Invalid([.. errors]);

            var logger = loggers.CreateLogger("CompGrid.SampleHost.Simulations");
            Workload workload = Workload.Generate(request.Seed, request.Jobs, new SimulatedCluster { Nodes = request.Nodes, CpusPerNode = 16, MemoryMiBPerNode = 65536 });
            // Stopped by whichever comes first: the client going away or the compute budget.
            using var budget = new CancellationTokenSource(limits.MaxSimulationDuration, time);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(requestAborted, budget.Token);
            LogStarted(logger, Name(user), request.Jobs, request.Nodes);
            try
            {
                SimulationReport a = await Task.Run(() => Simulator.Simulate(workload, ToConfiguration(request, "a"), stop.Token), stop.Token);
                SimulationReport? b = request.CompareWith is { } o
                    ? await Task.Run(() => Simulator.Simulate(workload, ToConfiguration(o, "b"), stop.Token), stop.Token) : null;
                LogFinished(logger, Name(user), request.Jobs);
                return Results.Ok(new { workload = workload.Source, a = Summary(a), b = b is null ? null : Summary(b) });
            }
            catch (OperationCanceledException) when (requestAborted.IsCancellationRequested)
            {
                LogCancelled(logger, Name(user), request.Jobs);
                return Results.Empty;   // nobody is listening
            }
            catch (OperationCanceledException) when (budget.IsCancellationRequested)
            {
                LogCancelled(logger, Name(user), request.Jobs);
                return Results.Problem($"The simulation did not finish within {limits.MaxSimulationDuration.TotalSeconds} s: ask for fewer jobs or nodes.",
                    statusCode: StatusCodes.Status422UnprocessableEntity, title: "Simulation too large");
            }
            catch (ArgumentException ex)
            {
                return Results.Problem(title: "Invalid simulation", detail: ex.Message, statusCode: 400);
            }
        }).RequireAuthorization().RequireRateLimiting(RequestLimits.SimulationPolicy);

        // sprio-like breakdown of a queued job's priority (multifactor and fair-tree orderings): the owner's or, for
        // administrators, anyone's; someone else's job is "not found" like every other job endpoint.
        app.MapGet("/api/jobs/{id}/priority", async (string id, ClaimsPrincipal user, ICompGridClient grid, CompGridEngine engine, CancellationToken ct) =>
            await VisibleJobAsync(id, user, grid, ct) is not null && await engine.ExplainPriorityAsync(id, ct) is { } e ? Results.Ok(e) : JobNotFound(id))
            .RequireAuthorization();
        return app;
    }

    private static SimulationConfiguration ToConfiguration(SimulationRequest r, string name) => new()
    {
        Name = $"{name}: {r.Ordering}/{r.Placement}/{(r.Backfill ? "easy" : "strict")}",
        PlacementPolicy = r.Placement,
        QueueOrdering = r.Ordering,
        Backfill = new BackfillOptions { Enabled = r.Backfill, EstimateDepth = 0 },
    };

    private static object Summary(SimulationReport r) => new
    {
        configuration = r.Configuration.Name,
        r.JobsStarted, r.JobsNeverStarted, r.Backfilled,
        r.MeanWaitSeconds, r.MedianWaitSeconds, r.P95WaitSeconds, r.MaxWaitSeconds,
        r.MeanBoundedSlowdown, r.Utilization, makespanSeconds = r.Makespan.TotalSeconds,
        r.AccountFairness, r.Accounts,
    };

    [LoggerMessage(EventId = 9100, Level = LogLevel.Information, Message = "Simulation started for {User}: {Jobs} jobs on {Nodes} nodes")]
    private static partial void LogStarted(ILogger logger, string user, int jobs, int nodes);

    [LoggerMessage(EventId = 9101, Level = LogLevel.Information, Message = "Simulation finished for {User}: {Jobs} jobs")]
    private static partial void LogFinished(ILogger logger, string user, int jobs);

    [LoggerMessage(EventId = 9102, Level = LogLevel.Information, Message = "Simulation cancelled for {User}: {Jobs} jobs; the simulator stopped")]
    private static partial void LogCancelled(ILogger logger, string user, int jobs);
}

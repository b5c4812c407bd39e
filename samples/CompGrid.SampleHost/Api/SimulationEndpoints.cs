using CompGrid.Backfill;
using CompGrid.Simulation;

namespace CompGrid.SampleHost.Api;

/// <summary>
/// What-if simulation: <c>POST /api/simulations</c> replays a generated workload through the production scheduling
/// policies on a virtual clock and returns the metrics (and, with <c>compareWith</c>, a second configuration's).
/// <c>GET /api/jobs/{id}/priority</c> breaks a queued job's priority down by factor.
/// </summary>
public static class SimulationEndpoints
{
    /// <summary>A simulation request. Unknown policy names are rejected with a problem naming the field.</summary>
    public sealed record SimulationRequest(int Seed = 42, int Jobs = 1000, string Placement = "first-fit", string Ordering = "multifactor",
        bool Backfill = true, SimulationRequest? CompareWith = null);

    public static IEndpointRouteBuilder MapSimulationEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/simulations", (SimulationRequest request) =>
        {
            if (request.Jobs is < 1 or > 20_000)
                return Results.Problem(title: "Invalid simulation", detail: "jobs: must be between 1 and 20000", statusCode: 400);
            Workload workload = Workload.Generate(request.Seed, request.Jobs);
            try
            {
                SimulationReport a = Simulator.Simulate(workload, ToConfiguration(request, "a"));
                SimulationReport? b = request.CompareWith is { } other ? Simulator.Simulate(workload, ToConfiguration(other, "b")) : null;
                return Results.Ok(new { workload = workload.Source, a = Summary(a), b = b is null ? null : Summary(b) });
            }
            catch (ArgumentException ex)
            {
                return Results.Problem(title: "Invalid simulation", detail: ex.Message, statusCode: 400);
            }
        }).RequireAuthorization();

        // sprio-like breakdown of a queued job's priority (multifactor and fair-tree orderings).
        app.MapGet("/api/jobs/{id}/priority", async (string id, CompGridEngine engine, CancellationToken ct) =>
            await engine.ExplainPriorityAsync(id, ct) is { } e ? Results.Ok(e) : Results.NotFound()).RequireAuthorization();
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
}

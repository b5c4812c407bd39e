using System.Text.Json;

namespace CompGrid.Client;

/// <summary>
/// A what-if request (<c>POST /api/simulations</c>): a generated workload replayed through the production scheduling policies
/// on a virtual clock, optionally under a second configuration for comparison.
/// </summary>
public sealed record SimulationRequest
{
    /// <summary>The workload generator's seed. The default is 42.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>How many jobs to generate. The default is 1000.</summary>
    public int Jobs { get; init; } = 1000;

    /// <summary>How many 16-core nodes the simulated cluster has. The default is 64.</summary>
    public int Nodes { get; init; } = 64;

    /// <summary>The placement policy's name. The default is <c>first-fit</c>.</summary>
    public string Placement { get; init; } = "first-fit";

    /// <summary>The queue ordering policy's name. The default is <c>multifactor</c>.</summary>
    public string Ordering { get; init; } = "multifactor";

    /// <summary>Whether EASY backfill is on. The default is <see langword="true"/>.</summary>
    public bool Backfill { get; init; } = true;

    /// <summary>A second configuration over the same workload, or null for none.</summary>
    public SimulationRequest? CompareWith { get; init; }
}

/// <summary>The outcome of a simulation: the workload and one report per configuration.</summary>
public sealed record SimulationComparison
{
    /// <summary>Where the workload came from (the generator and its seed).</summary>
    public JsonElement Workload { get; init; }

    /// <summary>The first configuration's report.</summary>
    public SimulationSummary A { get; init; } = new();

    /// <summary>The second configuration's report, when one was asked for.</summary>
    public SimulationSummary? B { get; init; }
}

/// <summary>The metrics of one simulated configuration.</summary>
public sealed record SimulationSummary
{
    /// <summary>The configuration's name (ordering/placement/backfill).</summary>
    public string Configuration { get; init; } = "";

    /// <summary>Jobs that started.</summary>
    public int JobsStarted { get; init; }

    /// <summary>Jobs that never started.</summary>
    public int JobsNeverStarted { get; init; }

    /// <summary>Jobs started by backfill.</summary>
    public int Backfilled { get; init; }

    /// <summary>Mean wait in seconds.</summary>
    public double MeanWaitSeconds { get; init; }

    /// <summary>Median wait in seconds.</summary>
    public double MedianWaitSeconds { get; init; }

    /// <summary>95th percentile wait in seconds.</summary>
    public double P95WaitSeconds { get; init; }

    /// <summary>Longest wait in seconds.</summary>
    public double MaxWaitSeconds { get; init; }

    /// <summary>Mean bounded slowdown.</summary>
    public double MeanBoundedSlowdown { get; init; }

    /// <summary>Cluster utilization (0–1).</summary>
    public double Utilization { get; init; }

    /// <summary>Time from the first submission to the last end, in seconds.</summary>
    public double MakespanSeconds { get; init; }

    /// <summary>Fairness across accounts, as the simulator reports it.</summary>
    public JsonElement AccountFairness { get; init; }

    /// <summary>Per-account metrics, as the simulator reports them.</summary>
    public JsonElement Accounts { get; init; }

    /// <inheritdoc/>
    public override string ToString() => $"{Configuration}: mean wait {MeanWaitSeconds:0} s, p95 {P95WaitSeconds:0} s, utilization {Utilization:P0}";
}

/// <summary>Who the portal says the caller is (<c>GET /api/me</c>).</summary>
public sealed record CallerInfo
{
    /// <summary>The user name.</summary>
    public string Name { get; init; } = "";

    /// <summary>The user's roles.</summary>
    public IReadOnlyList<string> Roles { get; init; } = [];

    /// <inheritdoc/>
    public override string ToString() => Name;
}

using System.Globalization;
using System.Text;
using CompGrid.Backfill;
using CompGrid.Limits;
using CompGrid.Ordering;
using CompGrid.Placement;

namespace CompGrid.Simulation;

/// <summary>A scheduler configuration to simulate: policy names and their settings.</summary>
public sealed record SimulationConfiguration
{
    /// <summary>A name for reports. The default is <c>baseline</c>.</summary>
    public string Name { get; init; } = "baseline";
    /// <summary>The placement policy (<c>first-fit</c>, <c>best-fit</c>, <c>spread</c>, <c>gpu-aware</c>). The default is <c>first-fit</c>.</summary>
    public string PlacementPolicy { get; init; } = PlacementPolicyNames.FirstFit;
    /// <summary>The queue ordering (<c>fifo</c>, <c>priority</c>, <c>multifactor</c>, <c>fair-tree</c>). The default is <c>multifactor</c>.</summary>
    public string QueueOrdering { get; init; } = QueueOrderingNames.Multifactor;
    /// <summary>Multifactor weights.</summary>
    public MultifactorPriorityOptions Priority { get; init; } = new();
    /// <summary>Fair-share hierarchy and half-life.</summary>
    public FairShareOptions FairShare { get; init; } = new();
    /// <summary>Account and user limits.</summary>
    public ResourceLimitsOptions Limits { get; init; } = new();
    /// <summary>Backfill settings. The default backfills and estimates no start times (not needed for the metrics).</summary>
    public BackfillOptions Backfill { get; init; } = new() { EstimateDepth = 0 };
}

/// <summary>What happened to one job in a simulation.</summary>
public sealed record SimulatedJobResult
{
    /// <summary>The job id.</summary>
    public required string Id { get; init; }
    /// <summary>The user.</summary>
    public string User { get; init; } = "";
    /// <summary>The account.</summary>
    public string Account { get; init; } = "";
    /// <summary>Submit time from the simulation start.</summary>
    public TimeSpan Submit { get; init; }
    /// <summary>Start time, or null if it never started.</summary>
    public TimeSpan? Start { get; init; }
    /// <summary>End time, or null if it never started.</summary>
    public TimeSpan? End { get; init; }
    /// <summary>CPUs over all nodes.</summary>
    public int Cpus { get; init; }
    /// <summary>Time waited in the queue.</summary>
    public TimeSpan Wait => (Start ?? Submit) - Submit;
    /// <summary>Time run (the walltime limit cuts runs that would exceed it).</summary>
    public TimeSpan Run => End is { } e && Start is { } s ? e - s : TimeSpan.Zero;
    /// <summary>Bounded slowdown: <c>max(1, (wait + run) / max(run, 10 s))</c>.</summary>
    public double BoundedSlowdown => Math.Max(1, (Wait + Run).TotalSeconds / Math.Max(Run.TotalSeconds, Simulator.SlowdownBoundSeconds));
}

/// <summary>Per-account figures of a simulation.</summary>
public sealed record AccountMetrics(string Account, int Jobs, double MeanWaitSeconds, double MeanBoundedSlowdown, double CpuSecondsShare);

/// <summary>The metrics of one simulation run.</summary>
public sealed record SimulationReport
{
    /// <summary>The configuration simulated.</summary>
    public required SimulationConfiguration Configuration { get; init; }
    /// <summary>Where the workload came from.</summary>
    public string Workload { get; init; } = "";
    /// <summary>Every job, in submit order.</summary>
    public IReadOnlyList<SimulatedJobResult> Jobs { get; init; } = [];
    /// <summary>Jobs that ran.</summary>
    public int JobsStarted { get; init; }
    /// <summary>Jobs that never started (they can never fit).</summary>
    public int JobsNeverStarted { get; init; }
    /// <summary>Mean wait, seconds.</summary>
    public double MeanWaitSeconds { get; init; }
    /// <summary>Median wait, seconds.</summary>
    public double MedianWaitSeconds { get; init; }
    /// <summary>95th percentile of wait, seconds.</summary>
    public double P95WaitSeconds { get; init; }
    /// <summary>Longest wait, seconds.</summary>
    public double MaxWaitSeconds { get; init; }
    /// <summary>Mean bounded slowdown (10 s bound).</summary>
    public double MeanBoundedSlowdown { get; init; }
    /// <summary>CPU-seconds used divided by CPU-seconds available from the first submit to the last end.</summary>
    public double Utilization { get; init; }
    /// <summary>From the first submit to the last end.</summary>
    public TimeSpan Makespan { get; init; }
    /// <summary>Jobs started by backfill ahead of a waiting higher-priority job.</summary>
    public int Backfilled { get; init; }
    /// <summary>Scheduling cycles run.</summary>
    public int Cycles { get; init; }
    /// <summary>Per-account figures, by account name.</summary>
    public IReadOnlyList<AccountMetrics> Accounts { get; init; } = [];
    /// <summary>Jain's fairness index over the accounts' mean bounded slowdowns (1 = all accounts served alike).</summary>
    public double AccountFairness { get; init; }

    /// <inheritdoc/>
    public override string ToString()
    {
        var sb = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        sb.AppendLine(c, $"configuration: {Configuration.Name} (placement {Configuration.PlacementPolicy}, ordering {Configuration.QueueOrdering}, backfill {(Configuration.Backfill.Enabled ? "easy" : "off")})");
        sb.AppendLine(c, $"workload: {Workload}");
        sb.AppendLine(c, $"jobs started: {JobsStarted}, never started: {JobsNeverStarted}, backfilled: {Backfilled}, cycles: {Cycles}");
        sb.AppendLine(c, $"wait (s): mean {MeanWaitSeconds:F1}, median {MedianWaitSeconds:F1}, p95 {P95WaitSeconds:F1}, max {MaxWaitSeconds:F1}");
        sb.AppendLine(c, $"bounded slowdown (10 s): mean {MeanBoundedSlowdown:F3}");
        sb.AppendLine(c, $"utilization: {Utilization:P2}");
        sb.AppendLine(c, $"makespan: {Makespan.TotalSeconds:F0} s ({Makespan.TotalDays:F2} days)");
        sb.AppendLine(c, $"account fairness (Jain, mean slowdown): {AccountFairness:F4}");
        foreach (AccountMetrics a in Accounts)
            sb.AppendLine(c, $"  account {a.Account}: jobs {a.Jobs}, mean wait {a.MeanWaitSeconds:F1} s, mean slowdown {a.MeanBoundedSlowdown:F3}, usage share {a.CpuSecondsShare:P2}");
        return sb.ToString();
    }
}

/// <summary>Two configurations simulated on one workload.</summary>
public sealed record SimulationComparison(SimulationReport A, SimulationReport B)
{
    /// <inheritdoc/>
    public override string ToString()
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(c, $"what-if on {A.Workload}");
        sb.AppendLine(c, $"{"metric",-28} {A.Configuration.Name,16} {B.Configuration.Name,16} {"change",10}");
        void Row(string name, double a, double b, string fmt) =>
            sb.AppendLine(c, $"{name,-28} {a.ToString(fmt, c),16} {b.ToString(fmt, c),16} {(a == 0 ? "n/a" : ((b - a) / a).ToString("+0.0%;-0.0%;0.0%", c)),10}");
        Row("mean wait (s)", A.MeanWaitSeconds, B.MeanWaitSeconds, "F1");
        Row("p95 wait (s)", A.P95WaitSeconds, B.P95WaitSeconds, "F1");
        Row("mean bounded slowdown", A.MeanBoundedSlowdown, B.MeanBoundedSlowdown, "F3");
        Row("utilization", A.Utilization, B.Utilization, "P2");
        Row("makespan (s)", A.Makespan.TotalSeconds, B.Makespan.TotalSeconds, "F0");
        Row("account fairness (Jain)", A.AccountFairness, B.AccountFairness, "F4");
        Row("backfilled jobs", A.Backfilled, B.Backfilled, "F0");
        return sb.ToString();
    }
}

/// <summary>
/// Runs the production scheduling code — <see cref="SchedulingCycle"/>: the queue ordering, fair share, limits,
/// placement policy and EASY backfill the engine runs each cycle — on a virtual clock over a workload (generated, or an
/// SWF trace), and reports wait, bounded slowdown, utilization, makespan and per-account fairness. Event driven: the
/// clock jumps from one submit or job end to the next, so a three-month trace takes seconds. Deterministic: the same
/// workload and configuration give the same report.
/// </summary>
public static class Simulator
{
    /// <summary>The bound of bounded slowdown, in seconds.</summary>
    public const double SlowdownBoundSeconds = 10;

    private static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private sealed class VirtualClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    private sealed record Run(RunningJob Running, SimulatedJob Job, TimeSpan Start);

    private static readonly SchedulingPolicyRegistry s_builtIn = SchedulingPolicyRegistry.CreateDefault();

    /// <summary>
    /// Simulates one configuration with the built-in policies. To simulate custom policies too, resolve
    /// <see cref="CompGridSimulator"/> from DI (it sees every <c>AddPlacementPolicy&lt;T&gt;()</c> /
    /// <c>AddQueueOrderingPolicy&lt;T&gt;()</c> registration). Throws an <see cref="ArgumentException"/> naming the
    /// known policies when a policy name is unknown. <paramref name="cancellationToken"/> is observed once per event
    /// (a portal passes its request's).
    /// </summary>
    public static SimulationReport Simulate(Workload workload, SimulationConfiguration? configuration = null, CancellationToken cancellationToken = default) =>
        Simulate(workload, configuration, s_builtIn, cancellationToken);

    /// <summary>Simulates two configurations on the same workload (a what-if comparison), with the built-in policies.</summary>
    public static SimulationComparison Compare(Workload workload, SimulationConfiguration a, SimulationConfiguration b) =>
        new(Simulate(workload, a), Simulate(workload, b));

    internal static SimulationReport Simulate(Workload workload, SimulationConfiguration? configuration, SchedulingPolicyRegistry registry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(workload);
        configuration ??= new SimulationConfiguration();
        var clock = new VirtualClock(Epoch);
        var ledger = new FairShareLedger(configuration.FairShare, clock);
        IQueueOrderingPolicy ordering = registry.GetOrdering(configuration.QueueOrdering);
        // The built-in multifactor orderings run on the simulation's own fair-share ledger, clock and weights.
        if (ordering is MultifactorPriorityPolicy multifactor)
            ordering = new MultifactorPriorityPolicy(configuration.Priority, ledger, multifactor.Algorithm);
        IPlacementPolicy placement = registry.GetPlacement(configuration.PlacementPolicy);
        var cycle = new SchedulingCycle(ordering, placement, s => s.Walltime ?? TimeSpan.FromHours(1), s => s.Resources.MemoryMiB,
            configuration.Backfill, configuration.Limits);

        SimulatedCluster cl = workload.Cluster;
        var snapshot = new ClusterSnapshot();
        var cap = new NodeResources(cl.CpusPerNode, cl.MemoryMiBPerNode, cl.GpusPerNode);
        for (int i = 0; i < cl.Nodes; i++) snapshot.AddNode("node" + i.ToString("D5", CultureInfo.InvariantCulture), cap, cap);

        IReadOnlyList<SimulatedJob> jobs = workload.Jobs;
        var byId = new Dictionary<string, SimulatedJob>(jobs.Count, StringComparer.Ordinal);
        foreach (SimulatedJob j in jobs) byId[j.Id] = j;
        var results = new Dictionary<string, SimulatedJobResult>(jobs.Count, StringComparer.Ordinal);
        var running = new List<RunningJob>();
        var ends = new PriorityQueue<Run, (long End, long Seq)>();
        long seq = 0;
        int next = 0, cycles = 0, backfilled = 0;
        TimeSpan now = jobs.Count > 0 ? jobs[0].Submit : TimeSpan.Zero;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            bool changed = false;
            while (ends.TryPeek(out Run? r, out var p) && p.End <= now.Ticks)
            {
                ends.Dequeue();
                snapshot.ReleaseGang(r.Running.Nodes, r.Running.Request);
                running.Remove(r.Running);
                TimeSpan end = TimeSpan.FromTicks(p.End);
                results[r.Job.Id] = results[r.Job.Id] with { End = end };
                ledger.AddUsage(r.Job.Account, r.Job.User, r.Job.CpusPerNode * r.Job.Nodes * (end - r.Start).TotalSeconds, Epoch + end);
                changed = true;
            }
            while (next < jobs.Count && jobs[next].Submit <= now)
            {
                SimulatedJob j = jobs[next++];
                cycle.Enqueue(new JobRecord
                {
                    Id = j.Id, State = JobState.Queued, SubmittedAt = Epoch + j.Submit,
                    Spec = new JobSpec
                    {
                        Owner = j.User, Account = j.Account, Walltime = j.RequestedWalltime,
                        Resources = new ResourceRequest { Cpus = j.CpusPerNode, MemoryMiB = j.MemoryMiBPerNode, Gpus = j.GpusPerNode, Nodes = j.Nodes },
                    },
                }, snapshot);
                results[j.Id] = new SimulatedJobResult { Id = j.Id, User = j.User, Account = j.Account, Submit = j.Submit, Cpus = j.CpusPerNode * j.Nodes };
                changed = true;
            }
            if (changed && cycle.QueuedCount > 0)
            {
                clock.Now = Epoch + now;
                cycles++;
                // The incremental cycle: the queue, its order and requests are kept between cycles; only jobs that can start are touched.
                foreach (QueueStart st in cycle.RunQueued(snapshot, running, Epoch + now))
                {
                    if (st.Backfilled) backfilled++;
                    SimulatedJob j = byId[st.Job.Id];
                    snapshot.TryCreateRequest(st.Job.Spec.Resources, st.Job.Spec.Constraints, j.MemoryMiBPerNode, out PlacementRequest req, out _);
                    TimeSpan runFor = j.Runtime <= j.RequestedWalltime ? j.Runtime : j.RequestedWalltime; // killed at the limit
                    var rj = new RunningJob(st.Job, st.Nodes, req, Epoch + now + j.RequestedWalltime);
                    running.Add(rj);
                    ends.Enqueue(new Run(rj, j, now), ((now + runFor).Ticks, seq++));
                    results[j.Id] = results[j.Id] with { Start = now };
                }
            }
            long nextSubmit = next < jobs.Count ? jobs[next].Submit.Ticks : long.MaxValue;
            long nextEnd = ends.TryPeek(out _, out var pe) ? pe.End : long.MaxValue;
            long t = Math.Min(nextSubmit, nextEnd);
            if (t == long.MaxValue) break;
            now = TimeSpan.FromTicks(Math.Max(t, now.Ticks));
        }
        return Report(workload, configuration, jobs.Select(j => results.GetValueOrDefault(j.Id) ?? new SimulatedJobResult { Id = j.Id, Submit = j.Submit }).ToList(), cycles, backfilled);
    }

    private static SimulationReport Report(Workload workload, SimulationConfiguration cfg, List<SimulatedJobResult> results, int cycles, int backfilled)
    {
        var ran = results.Where(r => r.Start is not null && r.End is not null).ToList();
        double[] waits = ran.Select(r => r.Wait.TotalSeconds).Order().ToArray();
        double Pct(double q) => waits.Length == 0 ? 0 : waits[Math.Min(waits.Length - 1, (int)Math.Floor(q * (waits.Length - 1) + 0.5))];
        TimeSpan first = results.Count == 0 ? TimeSpan.Zero : results.Min(r => r.Submit);
        TimeSpan last = ran.Count == 0 ? first : ran.Max(r => r.End!.Value);
        TimeSpan makespan = last - first;
        double used = ran.Sum(r => r.Cpus * r.Run.TotalSeconds);
        double capacity = (double)workload.Cluster.Nodes * workload.Cluster.CpusPerNode * makespan.TotalSeconds;
        var accounts = ran.GroupBy(r => r.Account, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new AccountMetrics(g.Key, g.Count(), g.Average(r => r.Wait.TotalSeconds), g.Average(r => r.BoundedSlowdown),
                used > 0 ? g.Sum(r => r.Cpus * r.Run.TotalSeconds) / used : 0))
            .ToList();
        double sum = accounts.Sum(a => a.MeanBoundedSlowdown), sumSq = accounts.Sum(a => a.MeanBoundedSlowdown * a.MeanBoundedSlowdown);
        return new SimulationReport
        {
            Configuration = cfg, Workload = workload.Source, Jobs = results,
            JobsStarted = ran.Count, JobsNeverStarted = results.Count - ran.Count,
            MeanWaitSeconds = waits.Length == 0 ? 0 : waits.Average(), MedianWaitSeconds = Pct(0.5), P95WaitSeconds = Pct(0.95),
            MaxWaitSeconds = waits.Length == 0 ? 0 : waits[^1],
            MeanBoundedSlowdown = ran.Count == 0 ? 0 : ran.Average(r => r.BoundedSlowdown),
            Utilization = capacity > 0 ? used / capacity : 0, Makespan = makespan,
            Backfilled = backfilled, Cycles = cycles, Accounts = accounts,
            AccountFairness = accounts.Count == 0 || sumSq == 0 ? 1 : sum * sum / (accounts.Count * sumSq),
        };
    }
}

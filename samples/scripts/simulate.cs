#:property PublishAot=false
#:property TieredCompilation=false
#:project ../../src/CompGrid.Scheduling/CompGrid.Scheduling.csproj

// Replays a workload through CompGrid's production scheduling policies on a virtual clock and prints the metrics.
//   dotnet run simulate.cs <trace.swf[.gz]> [--max-jobs N] [--placement first-fit] [--ordering multifactor] [--no-backfill]
//   dotnet run simulate.cs --generate [--seed 42] [--jobs 2000]
//   add --submit-scale 0.5 to multiply every submit time by 0.5 (twice the offered load);
//   add --compare to print a what-if table: the configuration given against strict (no backfill) FIFO;
//   add --csv jobs.csv to write every job's submit, start, end, wait and bounded slowdown.
using CompGrid.Backfill;
using CompGrid.Simulation;

string? trace = null, csv = null;
int seed = 42, jobs = 2000;
int? maxJobs = null;
double submitScale = 1;
string placement = "first-fit", ordering = "multifactor";
bool backfill = true, compare = false, generate = false;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--seed": seed = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--jobs": jobs = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--max-jobs": maxJobs = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--placement": placement = args[++i]; break;
        case "--ordering": ordering = args[++i]; break;
        case "--no-backfill": backfill = false; break;
        case "--compare": compare = true; break;
        case "--generate": generate = true; break;
        case "--csv": csv = args[++i]; break;
        case "--submit-scale": submitScale = double.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
        default: trace = args[i]; break;
    }
}
if (trace is null && !generate)
{
    Console.Error.WriteLine("usage: dotnet run simulate.cs <trace.swf[.gz]> [--max-jobs N] [--placement P] [--ordering O] [--no-backfill] [--compare] [--submit-scale F]");
    Console.Error.WriteLine("       dotnet run simulate.cs --generate [--seed N] [--jobs N] [--compare]");
    return 2;
}

Workload workload = generate
    ? Workload.Generate(seed, jobs)
    : Workload.FromSwf(SwfTrace.Load(trace!, maxJobs), source: Path.GetFileName(trace!) + (maxJobs is { } m ? $" (first {m} jobs)" : ""));
if (submitScale != 1) workload = workload.ScaleSubmitTimes(submitScale);
Console.WriteLine($"seed: {seed}; {workload.Jobs.Count} jobs on {workload.Cluster.Nodes} nodes x {workload.Cluster.CpusPerNode} CPUs");

var config = new SimulationConfiguration
{
    Name = $"{ordering}+{(backfill ? "easy" : "strict")}",
    PlacementPolicy = placement,
    QueueOrdering = ordering,
    Backfill = new BackfillOptions { Enabled = backfill, EstimateDepth = 0 },
};
var started = System.Diagnostics.Stopwatch.StartNew();
// CPU time (user + sys) beside the wall time: on a shared machine the wall time says more about the neighbours.
TimeSpan cpuStart = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
if (compare)
{
    var baseline = new SimulationConfiguration { Name = "fifo+strict", PlacementPolicy = placement, QueueOrdering = "fifo", Backfill = new BackfillOptions { Enabled = false, EstimateDepth = 0 } };
    SimulationComparison c = Simulator.Compare(workload, baseline, config);
    Console.WriteLine(c.A);
    Console.WriteLine(c.B);
    Console.WriteLine(c);
}
else
{
    SimulationReport report = Simulator.Simulate(workload, config);
    Console.WriteLine(report);
    if (csv is not null)
    {
        using var w = new StreamWriter(csv);
        w.WriteLine("job,user,account,cpus,submit_s,start_s,end_s,wait_s,bounded_slowdown");
        foreach (SimulatedJobResult j in report.Jobs)
            w.WriteLine(string.Join(',', j.Id, j.User, j.Account, j.Cpus, j.Submit.TotalSeconds, j.Start?.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "", j.End?.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "",
                j.Wait.TotalSeconds, j.BoundedSlowdown.ToString("F4", System.Globalization.CultureInfo.InvariantCulture)));
        Console.WriteLine($"per-job results written to {csv}");
    }
}
TimeSpan cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpuStart;
Console.Error.WriteLine($"(simulated in {started.Elapsed.TotalSeconds:F2} s of wall time, {cpu.TotalSeconds:F2} s of CPU time)");
return 0;

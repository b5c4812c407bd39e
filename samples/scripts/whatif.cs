#:property PublishAot=false
#:property ManagePackageVersionsCentrally=false
#:project ../../src/CompGrid.Scheduling/CompGrid.Scheduling.csproj

// What-if story: replay one workload under today's policy and a proposed one, on a virtual clock, and compare waits.
//   dotnet run samples/scripts/whatif.cs [jobs] [seed]
using System.Globalization;
using CompGrid;
using CompGrid.Backfill;
using CompGrid.Simulation;

int jobs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 2000;
int seed = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 42;
var workload = Workload.Generate(seed, jobs);

var today = new SimulationConfiguration
{
    Name = "today: fifo, strict", PlacementPolicy = "first-fit", QueueOrdering = "fifo",
    Backfill = new BackfillOptions { Enabled = false, EstimateDepth = 0 },
};
var proposed = new SimulationConfiguration { Name = "proposed: fifo + EASY backfill", PlacementPolicy = "first-fit", QueueOrdering = "fifo", Backfill = new BackfillOptions { Enabled = true } };

SimulationComparison comparison = Simulator.Compare(workload, today, proposed);
Console.WriteLine($"workload: {workload.Jobs.Count} jobs (seed {seed})");
foreach (var r in new[] { comparison.A, comparison.B })
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{r.Configuration.Name,-32} mean wait {r.MeanWaitSeconds,10:F0} s   p95 {r.P95WaitSeconds,10:F0} s   slowdown {r.MeanBoundedSlowdown,8:F2}   utilization {r.Utilization:P1}   backfilled {r.Backfilled}"));
double change = comparison.A.MeanWaitSeconds == 0 ? 0 : (comparison.B.MeanWaitSeconds - comparison.A.MeanWaitSeconds) / comparison.A.MeanWaitSeconds;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"mean wait change: {change:+0.0%;-0.0%;0.0%}"));
return comparison.A.JobsStarted == workload.Jobs.Count && comparison.B.JobsStarted == workload.Jobs.Count ? 0 : 1;

using BenchmarkDotNet.Running;
using CompGrid.Benchmarks;

if (args.Contains("--quick"))
{
    if (args.Contains("--scheduling")) { QuickScheduling.Run(); return 0; }
    if (args.Contains("--submit")) { QuickSubmit.Run(); return 0; }
    return QuickHarness.Run(args.Contains("--placement") ? "placement" : null);
}
if (args.Contains("--targets"))
{
    return Targets.Run(args.Where(a => a != "--targets").ToArray());
}
BenchmarkSwitcher.FromAssembly(typeof(Workloads).Assembly).Run(args);
return 0;

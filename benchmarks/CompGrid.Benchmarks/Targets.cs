using System.Globalization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using CompGrid.Placement;

namespace CompGrid.Benchmarks;

/// <summary>
/// <c>-- --targets</c>: runs every scenario once with a short in-process job, prints one line per scenario
/// (<c>scenario, measured, floor, ratio to naive</c>) plus placement quality, and exits non-zero when a floor is missed
/// or an optimized scenario does not beat its naive baseline.
/// </summary>
public static class Targets
{
    private sealed record Result(double MedianNs, double MinNs, double BytesPerOp);

    public static int Run(string[] args)
    {
        int iterations = args.FirstOrDefault(a => int.TryParse(a, out _)) is { } itArg ? int.Parse(itArg, CultureInfo.InvariantCulture) : 7;
        string? only = args.FirstOrDefault(a => !int.TryParse(a, out _)); // e.g. "FairShare": run one scenario class
        Job job = new Job("targets")
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithLaunchCount(1).WithWarmupCount(2).WithIterationCount(iterations)
            .WithInvocationCount(1).WithUnrollFactor(1)
            .WithGcServer(false).WithGcConcurrent(false);
        IConfig config = ManualConfig.CreateMinimumViable()
            .AddJob(job)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .WithOptions(ConfigOptions.DisableOptimizationsValidator);
        Type[] types = [typeof(FirstFitBenchmarks), typeof(BestFitBenchmarks), typeof(ScaleBenchmarks), typeof(GangBenchmarks), typeof(BackfillBenchmarks), typeof(FairShareBenchmarks), typeof(SubmitBenchmarks), typeof(ReplayBenchmarks)];
        if (only is not null) types = types.Where(t => t.Name.Contains(only, StringComparison.OrdinalIgnoreCase)).ToArray();
        Summary[] summaries = BenchmarkRunner.Run(types, config);

        var results = new Dictionary<string, Result>(StringComparer.Ordinal);
        foreach (Summary summary in summaries)
            foreach (BenchmarkReport report in summary.Reports)
            {
                if (report.ResultStatistics is null) continue;
                string key = report.BenchmarkCase.Descriptor.WorkloadMethod.Name;
                if (report.BenchmarkCase.HasParameters) key += "@" + string.Join(",", report.BenchmarkCase.Parameters.Items.Select(p => p.Value));
                double bytes = report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase) ?? double.NaN;
                results[key] = new Result(report.ResultStatistics.Median, report.ResultStatistics.Min, bytes);
            }

        var lines = new List<string>();
        bool ok = true;
        double PerSec(string k) => results.TryGetValue(k, out Result? r) ? 1e9 / r.MedianNs : double.NaN;
        double Ms(string k) => results.TryGetValue(k, out Result? r) ? r.MedianNs / 1e6 : double.NaN;
        double Bytes(string k) => results.TryGetValue(k, out Result? r) ? r.BytesPerOp : double.NaN;
        void Line(string scenario, string measured, string floor, bool pass, double ratio)
        {
            if (only is not null && measured.Contains("NaN", StringComparison.Ordinal)) return; // scenario not run
            bool beats = double.IsNaN(ratio) || ratio > 1;
            ok &= pass && beats;
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"{scenario}, {measured}, {floor}, {(double.IsNaN(ratio) ? "n/a" : ratio.ToString("F1", CultureInfo.InvariantCulture) + "x")}{(pass && beats ? "" : "  <-- MISSED")}"));
        }

        double ff = PerSec("FirstFit"), ffB = Bytes("FirstFit");
        Line("first-fit 10k nodes x 100k jobs", $"{ff / 1e6:F2} M placements/s, {ffB:F2} B/placement", ">= 1 M/s and 0 B", ff >= 1e6 && ffB < 0.5, ff / PerSec("NaiveFirstFit"));
        double bf = PerSec("BestFit");
        double bfB = Bytes("BestFit");
        Line("best-fit 10k nodes x 100k jobs", $"{bf / 1e6:F2} M placements/s, {bfB:F2} B/placement", ">= 1 M/s and 0 B", bf >= 1e6 && bfB < 0.5, bf / PerSec("NaiveBestFit"));
        if (only is null || "BestFit".Contains(only, StringComparison.OrdinalIgnoreCase))
        {
            var (ffUsed, ffFrag, bfUsed, bfFrag) = PackingQuality();
            Line("best-fit packing, 50k jobs on 10k nodes", string.Create(CultureInfo.InvariantCulture, $"{bfUsed} nodes used, {bfFrag:P1} stranded (first-fit: {ffUsed}, {ffFrag:P1})"),
                "nodes <= first-fit and stranded < first-fit", bfUsed <= ffUsed && bfFrag < ffFrag, double.NaN);
            var agreement = new BestFitBenchmarks(); agreement.Setup();
            bool agrees = agreement.AgreesWithNaive(best: true);
            Line($"best-fit agrees with the naive LINQ best-fit on the first {BestFitBenchmarks.NaiveJobCount} jobs", agrees ? "yes" : "NO", "yes", agrees, double.NaN);
        }
        double st1 = PerSec("StoreSubmits@1"), st8 = PerSec("StoreSubmits@8"), en1 = PerSec("EngineSubmits@1"), en8 = PerSec("EngineSubmits@8");
        Line("durable submits on SQLite, store, 8 submitters", $"{st8:F0} submits/s", ">= 20000/s", st8 >= 20_000, double.NaN);
        Line("durable submits on SQLite, store, 1 submitter", $"{st1:F0} submits/s", ">= 5000/s", st1 >= 5_000, double.NaN);
        Line("durable submits through the engine (backend runs nothing), 8 submitters", $"{en8:F0} jobs/s ({en1:F0}/s from 1)", ">= 10000/s", en8 >= 10_000, double.NaN);
        if (only is null || "SubmitBenchmarks".Contains(only, StringComparison.OrdinalIgnoreCase))
        {
            double perTx = new SubmitBenchmarks().WritesPerTransaction(8);
            Line("group commit on SQLite, 8 submitters (load-independent)", $"{perTx:F1} writes per transaction", ">= 3", perTx >= 3, double.NaN);
        }
        double s1 = results.TryGetValue("FirstFitAll@1000", out var r1) ? r1.MedianNs / 10_000 : double.NaN;
        double s100 = results.TryGetValue("FirstFitAll@100000", out var r100) ? r100.MedianNs / 1_000_000 : double.NaN;
        double s10 = results.TryGetValue("FirstFitAll@10000", out var r10) ? r10.MedianNs / 100_000 : double.NaN;
        Line("scale first-fit 1k -> 100k nodes", $"{s1:F0} ns -> {s10:F0} ns -> {s100:F0} ns per placement ({s100 / s1:F2}x)", "<= 3x", s100 / s1 <= 3, double.NaN);
        double bfMs = Ms("EasyBackfillCycle");
        double naiveBfPerCandidate = Ms("NaiveEasyBackfillCycle") / BackfillBenchmarks.NaivePendingCount;
        Line("EASY backfill cycle 5k nodes x 50k pending", $"{bfMs:F1} ms per cycle, {Bytes("EasyBackfillCycle") / 1e6:F2} MB", "<= 10 ms", bfMs <= 10, naiveBfPerCandidate / (bfMs / BackfillBenchmarks.PendingCount));
        double fsMs = Ms("OrderMillion");
        double fsRatio = Ms("NaiveOrder") / FairShareBenchmarks.NaiveJobCount / (fsMs / FairShareBenchmarks.JobCount);
        Line("fair-share ordering of 1M queued jobs", $"{fsMs:F1} ms (naive {Ms("NaiveOrder"):F0} ms for {FairShareBenchmarks.NaiveJobCount} jobs; ratio per job)", "<= 50 ms and >= 20x the naive ordering per job", fsMs <= 50 && fsRatio >= 20, fsRatio);
        if (only is null || "Footprint".Contains(only, StringComparison.OrdinalIgnoreCase) || "FairShare".Contains(only, StringComparison.OrdinalIgnoreCase))
        {
            double perNode = Footprint.BytesPerNode();
            Line($"bytes per node, ClusterSnapshot of {Footprint.NodeCount} nodes (indexes and buckets built)", $"{perNode:F0} B/node", $"<= {Footprint.NodeCeiling} B", perNode <= Footprint.NodeCeiling, double.NaN);
            var queue = new FairShareBenchmarks(); queue.Setup();
            double perJob = Footprint.BytesPerQueuedJob(queue);
            Line($"bytes per queued job, multifactor ordering of {FairShareBenchmarks.JobCount} jobs (working buffers)", $"{perJob:F1} B/job", $"<= {Footprint.JobCeiling} B", perJob <= Footprint.JobCeiling, double.NaN);
        }
        double g = PerSec("Gangs");
        Line("gangs of 2-64 nodes on 10k nodes", $"{g / 1e3:F0} k gangs/s", ">= 200 k/s", g >= 200e3, g / PerSec("NaiveGangs"));
        foreach (string scale in new[] { "0.35", "0.5" })
            foreach (string easy in new[] { "False", "True" })
            {
                double replayMs = Ms($"NasaReplay@{scale},{easy}");
                Line($"full NASA replay, submit times x {scale}, FIFO {(easy == "True" ? "EASY" : "strict")}", $"{replayMs / 1e3:F3} s", "<= 1 s", replayMs <= 1000, double.NaN);
            }

        Console.WriteLine();
        Console.WriteLine("scenario, measured (median of the iterations), floor, ratio to naive");
        foreach (string l in lines) Console.WriteLine(l);
        Console.WriteLine();
        Console.WriteLine("fastest iteration of each benchmark (a shared machine preempts some iterations):");
        foreach (var (k, r) in results.OrderBy(x => x.Key, StringComparer.Ordinal))
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {k}: median {r.MedianNs:N1} ns/op, min {r.MinNs:N1} ns/op, {r.BytesPerOp:N1} B/op"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"load average at the end: {LoadAverage()}"));
        Console.WriteLine();
        if (only is null) foreach (string q in Quality()) Console.WriteLine(q);
        Console.WriteLine(ok ? "all floors met" : "FLOOR MISSED");
        return ok ? 0 : 1;
    }

    private static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Trim(); }
        catch (IOException) { return "unknown"; }
        catch (UnauthorizedAccessException) { return "unknown"; }
    }

    /// <summary>Nodes used and share of free CPUs stranded by first-fit and best-fit on the first 50k jobs of the benchmark workload.</summary>
    private static (int FfUsed, double FfFrag, int BfUsed, double BfFrag) PackingQuality()
    {
        var ffb = new FirstFitBenchmarks(); ffb.Setup();
        var bfb = new BestFitBenchmarks(); bfb.Setup();
        var (_, ffUsed, ffFrag) = ffb.QualityOf(new FirstFitPlacementPolicy(), FirstFitBenchmarks.JobCount / 2);
        var (_, bfUsed, bfFrag) = bfb.QualityOf(new BestFitPlacementPolicy(), FirstFitBenchmarks.JobCount / 2);
        return (ffUsed, ffFrag, bfUsed, bfFrag);
    }

    /// <summary>Placement quality beside the speed: jobs placed, nodes used, fragmentation, and agreement with the naive baselines.</summary>
    public static IEnumerable<string> Quality()
    {
        var ffb = new FirstFitBenchmarks(); ffb.Setup();
        var bfb = new BestFitBenchmarks(); bfb.Setup();
        foreach (int jobs in new[] { FirstFitBenchmarks.JobCount / 2, FirstFitBenchmarks.JobCount })
            foreach (var (name, policy, b) in new (string, IPlacementPolicy, PlacementBenchmarkBase)[]
                     { ("first-fit", new FirstFitPlacementPolicy(), ffb), ("best-fit", new BestFitPlacementPolicy(), bfb), ("spread", new SpreadPlacementPolicy(), bfb) })
            {
                var (placed, used, frag) = b.QualityOf(policy, jobs);
                yield return string.Create(CultureInfo.InvariantCulture, $"quality {name}, {jobs} jobs on 10k nodes: placed {placed}, nodes used {used}, fragmentation (free CPUs stranded on nodes that cannot take an 8-core/32 GiB job) {frag:P1}");
            }
        yield return $"first-fit chooses the same nodes as the naive LINQ first-fit on the first {FirstFitBenchmarks.NaiveJobCount} jobs: {(ffb.AgreesWithNaive(best: false) ? "yes" : "NO")}";
        yield return $"best-fit chooses the same nodes as the naive LINQ best-fit on the first {BestFitBenchmarks.NaiveJobCount} jobs: {(bfb.AgreesWithNaive(best: true) ? "yes" : "NO")}";
    }
}

using System.Diagnostics;

namespace CompGrid.Benchmarks;

/// <summary>A stopwatch run of each placement scenario (development aid; the numbers to quote come from --targets or BenchmarkDotNet).</summary>
public static class QuickHarness
{
    public static int Run(string? only = null)
    {
        if (only is not null) return RunOne(only);
        var ff = new FirstFitBenchmarks(); ff.Setup();
        Time("first-fit 10k x 100k", ff.SetupFast, ff.FirstFit, FirstFitBenchmarks.JobCount);
        Time("naive first-fit", ff.SetupNaive, ff.NaiveFirstFit, FirstFitBenchmarks.NaiveJobCount);
        var bf = new BestFitBenchmarks(); bf.Setup();
        Time("best-fit 10k x 100k", bf.SetupFast, bf.BestFit, BestFitBenchmarks.JobCount);
        Time("naive best-fit", bf.SetupNaive, bf.NaiveBestFit, BestFitBenchmarks.NaiveJobCount);
        foreach (int n in new[] { 1_000, 10_000, 100_000 })
        {
            var s = new ScaleBenchmarks { Nodes = n }; s.Setup();
            Time($"scale {n}", s.SetupFast, s.FirstFitAll, n * 10);
        }
        var g = new GangBenchmarks(); g.Setup();
        Time("gangs", g.SetupFast, g.Gangs, GangBenchmarks.GangCount);
        Time("naive gangs", g.SetupNaive, g.NaiveGangs, GangBenchmarks.NaiveGangCount);
        return 0;
    }

    // "--quick placement": first fit, best fit and gangs only (no naive baselines, no scale runs).
    private static int RunOne(string only)
    {
        if (only != "placement") return 1;
        var ff = new FirstFitBenchmarks(); ff.Setup();
        var bf = new BestFitBenchmarks(); bf.Setup();
        var g = new GangBenchmarks(); g.Setup();
        for (int k = 0; k < 3; k++)
        {
            double f = Time("first-fit 10k x 100k", ff.SetupFast, ff.FirstFit, FirstFitBenchmarks.JobCount);
            double b = Time("best-fit 10k x 100k", bf.SetupFast, bf.BestFit, BestFitBenchmarks.JobCount);
            Time("gangs", g.SetupFast, g.Gangs, GangBenchmarks.GangCount);
            Console.WriteLine($"  best/first {b / f:F3}");
        }
        return 0;
    }

    public static double Time(string name, Action setup, Func<int> run, int ops)
    {
        setup(); run(); // warm-up
        setup();
        TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        long alloc = GC.GetAllocatedBytesForCurrentThread();
        var sw = Stopwatch.StartNew();
        int placed = run();
        sw.Stop();
        alloc = GC.GetAllocatedBytesForCurrentThread() - alloc;
        // CPU time as well: on a loaded machine the wall clock counts the time the run waited for a core
        double cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds;
        double perSec = ops / sw.Elapsed.TotalSeconds;
        Console.WriteLine($"{name}: {perSec:N0} ops/s ({sw.Elapsed.TotalMilliseconds:F1} ms, CPU {cpuMs:F0} ms = {ops / cpuMs / 1e3:F2} M ops/s, placed {placed}/{ops}, {alloc / (double)ops:F2} B/op)");
        return perSec;
    }
}

public static class QuickScheduling
{
    public static void Run()
    {
        var b = new BackfillBenchmarks(); b.Setup();
        for (int k = 0; k < 4; k++) QuickHarness.Time("backfill cycle (ops = cycles)", b.SetupFast, b.EasyBackfillCycle, 1);
        Console.WriteLine($"  started {b.LastStarted}");
        QuickHarness.Time("naive backfill cycle (1k pending)", b.SetupNaive, b.NaiveEasyBackfillCycle, 1);
        var f = new FairShareBenchmarks(); f.Setup();
        for (int k = 0; k < 4; k++) QuickHarness.Time("fair-share order 1M (ops = orders)", f.SetupFast, f.OrderMillion, 1);
        QuickHarness.Time("naive order 100k", f.SetupNaive, f.NaiveOrder, 1);
    }
}

public static class QuickSubmit
{
    /// <summary>Wall rate and process CPU per job (user + system, all threads): on a loaded machine the CPU figure compares runs.</summary>
    public static void Run()
    {
        var b = new SubmitBenchmarks();
        string only = Environment.GetEnvironmentVariable("COMPGRID_QUICK_SUBMIT") ?? ""; // "store" or "engine": one path only (profiling)
        foreach (int n in new[] { 1, 8 })
        {
            b.Submitters = n;
            if (only is "" or "store") Time($"store submits, {n} submitter(s)", b.SetupStore, b.StoreSubmits);
            if (only is "" or "store") Console.WriteLine($"  {SubmitBenchmarks.JobsPerInvoke / (double)b.StoreBatches:F1} writes per transaction");
            if (only is "" or "engine") Time($"engine submits, {n} submitter(s)", b.SetupEngine, b.EngineSubmits);
        }
        b.Cleanup();
    }

    private static void Time(string name, Action setup, Func<int> run)
    {
        setup(); run(); // warm-up
        setup();
        var process = Process.GetCurrentProcess();
        TimeSpan cpu = process.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        int jobs = run();
        sw.Stop();
        process.Refresh();
        double cpuUs = (process.TotalProcessorTime - cpu).TotalMicroseconds / jobs;
        Console.WriteLine($"{name}: {jobs / sw.Elapsed.TotalSeconds:N0} jobs/s wall, {cpuUs:F1} us CPU per job");
    }
}

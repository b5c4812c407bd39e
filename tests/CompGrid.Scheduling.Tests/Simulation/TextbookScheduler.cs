using CompGrid.Simulation;

namespace CompGrid.Scheduling.Tests.Simulation;

/// <summary>
/// Textbook FCFS and EASY backfilling, written from their definitions for a cluster of identical processors (a job asks
/// for a number of them; which ones does not matter) — the oracle the simulator is held to. EASY (Mu'alem and
/// Feitelson, IEEE TPDS 2001): jobs start in arrival order while they fit; the first that does not gets a reservation
/// at its shadow time, the earliest time enough running jobs will have ended by their estimates; a later job starts now
/// if it fits and either ends by the shadow time or uses only the extra processors (those free at the shadow time
/// beyond what the reserved job needs). Conventions, the simulator's: run time is min(actual, estimate) (jobs are killed
/// at their limit); at one instant, ends are processed before arrivals, all arrivals are queued, then one pass runs.
/// </summary>
internal static class TextbookScheduler
{
    public sealed record Outcome(double MeanWaitSeconds, double MeanBoundedSlowdown);

    private sealed record Running(int Procs, long End, long ExpectedEnd);

    public static Outcome Run(Workload workload, bool easy)
    {
        int total = workload.Cluster.Nodes * workload.Cluster.CpusPerNode, free = total;
        IReadOnlyList<SimulatedJob> jobs = workload.Jobs;
        var queue = new List<int>();
        var running = new List<Running>();
        var start = new long[jobs.Count];
        int next = 0;
        long now = jobs.Count > 0 ? jobs[0].Submit.Ticks : 0;
        while (true)
        {
            for (int k = running.Count - 1; k >= 0; k--)
                if (running[k].End <= now) { free += running[k].Procs; running.RemoveAt(k); }
            while (next < jobs.Count && jobs[next].Submit.Ticks <= now) queue.Add(next++);

            // FCFS: start from the head while it fits.
            while (queue.Count > 0 && Procs(jobs[queue[0]]) <= free) { StartJob(queue[0]); queue.RemoveAt(0); }
            if (easy && queue.Count > 0 && Procs(jobs[queue[0]]) <= total)
            {
                int head = Procs(jobs[queue[0]]), acc = free;
                long shadow = long.MaxValue;
                // The shadow time, and every processor free then (all jobs ending at that instant count).
                foreach (Running r in running.OrderBy(r => r.ExpectedEnd))
                {
                    long end = Math.Max(now, r.ExpectedEnd);
                    if (acc >= head && end > shadow) break;
                    acc += r.Procs;
                    if (acc >= head && shadow == long.MaxValue) shadow = end;
                }
                int extra = acc - head;
                for (int q = 1; q < queue.Count; q++)
                {
                    SimulatedJob j = jobs[queue[q]];
                    int p = Procs(j);
                    if (p > free) continue;
                    bool endsByShadow = now + j.RequestedWalltime.Ticks <= shadow;
                    if (!endsByShadow && p > extra) continue;
                    if (!endsByShadow) extra -= p;
                    StartJob(queue[q]);
                    queue.RemoveAt(q--);
                }
            }
            long nextArrival = next < jobs.Count ? jobs[next].Submit.Ticks : long.MaxValue;
            long nextEnd = running.Count > 0 ? running.Min(r => r.End) : long.MaxValue;
            long t = Math.Min(nextArrival, nextEnd);
            if (t == long.MaxValue) break;
            now = t;
        }
        double wait = 0, bsld = 0;
        for (int i = 0; i < jobs.Count; i++)
        {
            double w = TimeSpan.FromTicks(start[i] - jobs[i].Submit.Ticks).TotalSeconds, run = RunFor(jobs[i]).TotalSeconds;
            wait += w;
            bsld += Math.Max(1, (w + run) / Math.Max(run, Simulator.SlowdownBoundSeconds));
        }
        return new Outcome(wait / jobs.Count, bsld / jobs.Count);

        void StartJob(int i)
        {
            SimulatedJob j = jobs[i];
            start[i] = now;
            free -= Procs(j);
            running.Add(new Running(Procs(j), now + RunFor(j).Ticks, now + j.RequestedWalltime.Ticks));
        }
    }

    private static int Procs(SimulatedJob j) => j.Nodes * j.CpusPerNode;

    private static TimeSpan RunFor(SimulatedJob j) => j.Runtime <= j.RequestedWalltime ? j.Runtime : j.RequestedWalltime;
}

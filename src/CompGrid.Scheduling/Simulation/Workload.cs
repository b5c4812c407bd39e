namespace CompGrid.Simulation;

/// <summary>One job of a simulated workload.</summary>
public sealed record SimulatedJob
{
    /// <summary>The job id.</summary>
    public required string Id { get; init; }
    /// <summary>When it is submitted, from the start of the simulation.</summary>
    public TimeSpan Submit { get; init; }
    /// <summary>How long it really runs (it is killed at its walltime limit if that is shorter).</summary>
    public TimeSpan Runtime { get; init; }
    /// <summary>The walltime limit it asks for (what backfill plans with).</summary>
    public TimeSpan RequestedWalltime { get; init; }
    /// <summary>Nodes.</summary>
    public int Nodes { get; init; } = 1;
    /// <summary>CPUs per node.</summary>
    public int CpusPerNode { get; init; } = 1;
    /// <summary>Memory per node, MiB.</summary>
    public long MemoryMiBPerNode { get; init; }
    /// <summary>GPUs per node.</summary>
    public int GpusPerNode { get; init; }
    /// <summary>The user.</summary>
    public string User { get; init; } = "user";
    /// <summary>The account.</summary>
    public string Account { get; init; } = "default";
}

/// <summary>The nodes of the simulated cluster (all alike).</summary>
public sealed record SimulatedCluster
{
    /// <summary>Number of nodes. The default is 128.</summary>
    public int Nodes { get; init; } = 128;
    /// <summary>CPUs per node. The default is 1.</summary>
    public int CpusPerNode { get; init; } = 1;
    /// <summary>Memory per node, MiB. The default is 8192.</summary>
    public long MemoryMiBPerNode { get; init; } = 8192;
    /// <summary>GPUs per node. The default is 0.</summary>
    public int GpusPerNode { get; init; }
}

/// <summary>A workload: a cluster and the jobs submitted to it.</summary>
public sealed record Workload
{
    /// <summary>The cluster.</summary>
    public SimulatedCluster Cluster { get; init; } = new();
    /// <summary>The jobs, in submit order.</summary>
    public IReadOnlyList<SimulatedJob> Jobs { get; init; } = [];
    /// <summary>Where it came from (a trace file name, or the generator and seed).</summary>
    public string Source { get; init; } = "";

    /// <summary>
    /// A workload from an SWF trace: the cluster from <c>MaxNodes</c>/<c>MaxProcs</c> (or the largest job), each job's
    /// processors (field 8, else 5) spread over whole nodes, its actual run time (field 4) and requested time (field 9;
    /// when unknown, the run time times <paramref name="unknownEstimateFactor"/>), users (field 12) and groups (field 13)
    /// as accounts. Jobs without a run time or processors are skipped.
    /// </summary>
    public static Workload FromSwf(SwfTrace trace, double unknownEstimateFactor = 1.0, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(trace);
        int maxProcs = trace.MaxProcessors ?? trace.Jobs.Select(j => j.Processors).DefaultIfEmpty(1).Max();
        int nodes = Math.Max(1, trace.MaxNodes ?? maxProcs);
        int cpusPerNode = Math.Max(1, maxProcs / nodes);
        var jobs = new List<SimulatedJob>(trace.Jobs.Count);
        foreach (SwfJob j in trace.Jobs)
        {
            int procs = Math.Min(j.Processors, nodes * cpusPerNode);
            if (procs <= 0 || j.RunTime < 0 || j.SubmitTime < 0) continue;
            int n = (procs + cpusPerNode - 1) / cpusPerNode;
            var runtime = TimeSpan.FromSeconds(Math.Max(1, j.RunTime));
            var requested = j.RequestedTime > 0 ? TimeSpan.FromSeconds(Math.Max(j.RequestedTime, 1)) : TimeSpan.FromSeconds(Math.Ceiling(runtime.TotalSeconds * unknownEstimateFactor));
            jobs.Add(new SimulatedJob
            {
                Id = "swf-" + j.JobNumber.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Submit = TimeSpan.FromSeconds(j.SubmitTime), Runtime = runtime, RequestedWalltime = requested,
                Nodes = n, CpusPerNode = Math.Min(procs, cpusPerNode),
                User = "u" + j.UserId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Account = "g" + j.GroupId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            });
        }
        jobs.Sort((a, b) => a.Submit != b.Submit ? a.Submit.CompareTo(b.Submit) : string.CompareOrdinal(a.Id, b.Id));
        return new Workload { Cluster = new SimulatedCluster { Nodes = nodes, CpusPerNode = cpusPerNode }, Jobs = jobs, Source = source ?? "swf" };
    }

    /// <summary>
    /// The same jobs with every submit time multiplied by <paramref name="factor"/> (a factor below 1 compresses the
    /// arrivals and raises the load: × 0.5 offers twice the work per hour). Run times and requests are unchanged; the
    /// scaled submit times keep tick precision, so jobs that arrived apart stay apart.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="factor"/> is not a positive finite number.</exception>
    public Workload ScaleSubmitTimes(double factor)
    {
        if (!double.IsFinite(factor) || factor <= 0)
            throw new ArgumentOutOfRangeException(nameof(factor), factor, "The submit-time factor must be a positive finite number.");
        var jobs = new List<SimulatedJob>(Jobs.Count);
        foreach (SimulatedJob j in Jobs) jobs.Add(j with { Submit = TimeSpan.FromTicks((long)(j.Submit.Ticks * factor)) });
        return this with { Jobs = jobs, Source = Source + " (submit times × " + factor.ToString(System.Globalization.CultureInfo.InvariantCulture) + ")" };
    }

    /// <summary>
    /// A generated workload, the same for the same seed: Poisson arrivals at about <paramref name="load"/> of the
    /// cluster, job sizes of 1–N nodes (mostly small, powers of two), log-normal run times, requested walltimes 1–5×
    /// the run time, and users spread over accounts with a skewed (Zipf-like) activity.
    /// </summary>
    public static Workload Generate(int seed, int jobs = 2000, SimulatedCluster? cluster = null, double load = 0.9, int accounts = 5, int usersPerAccount = 4)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(jobs);
        ArgumentOutOfRangeException.ThrowIfLessThan(accounts, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(usersPerAccount, 1);
        cluster ??= new SimulatedCluster { Nodes = 64, CpusPerNode = 16, MemoryMiBPerNode = 65536 };
        var rng = new Random(seed);
        var list = new List<(double Submit, SimulatedJob Job)>(jobs);
        double meanArea = 0;
        var drafts = new List<(int Nodes, int Cpus, double Runtime)>(jobs);
        for (int i = 0; i < jobs; i++)
        {
            int nodes = rng.NextDouble() < 0.7 ? 1 : 1 << rng.Next(1, Math.Max(2, (int)Math.Log2(cluster.Nodes)));
            nodes = Math.Min(nodes, cluster.Nodes);
            int cpus = nodes > 1 ? cluster.CpusPerNode : Math.Max(1, 1 << rng.Next(0, 1 + (int)Math.Log2(cluster.CpusPerNode)));
            double runtime = Math.Clamp(Math.Exp(6.5 + 1.5 * Normal(rng)), 10, 86_400);
            drafts.Add((nodes, cpus, runtime));
            meanArea += nodes * cpus * runtime;
        }
        meanArea /= Math.Max(1, jobs);
        double capacity = cluster.Nodes * cluster.CpusPerNode;
        double meanInterarrival = meanArea / (capacity * load);
        double t = 0;
        for (int i = 0; i < jobs; i++)
        {
            t += -Math.Log(1 - rng.NextDouble()) * meanInterarrival;
            var (nodes, cpus, runtime) = drafts[i];
            int acc = Zipf(rng, accounts), user = rng.Next(usersPerAccount);
            list.Add((t, new SimulatedJob
            {
                Id = "gen-" + i.ToString("D6", System.Globalization.CultureInfo.InvariantCulture),
                Submit = TimeSpan.FromSeconds(Math.Floor(t)), Runtime = TimeSpan.FromSeconds(Math.Round(runtime)),
                RequestedWalltime = TimeSpan.FromSeconds(Math.Ceiling(runtime * (1 + 4 * rng.NextDouble()))),
                Nodes = nodes, CpusPerNode = cpus, MemoryMiBPerNode = cluster.MemoryMiBPerNode * cpus / Math.Max(1, cluster.CpusPerNode),
                Account = "acct" + acc.ToString(System.Globalization.CultureInfo.InvariantCulture),
                User = "acct" + acc.ToString(System.Globalization.CultureInfo.InvariantCulture) + "-u" + user.ToString(System.Globalization.CultureInfo.InvariantCulture),
            }));
        }
        return new Workload { Cluster = cluster, Jobs = list.Select(x => x.Job).ToList(), Source = $"generated(seed={seed}, jobs={jobs}, load={load})" };
    }

    private static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    private static int Zipf(Random rng, int n)
    {
        double total = 0;
        for (int k = 1; k <= n; k++) total += 1.0 / k;
        double x = rng.NextDouble() * total;
        for (int k = 1; k <= n; k++) { x -= 1.0 / k; if (x <= 0) return k - 1; }
        return n - 1;
    }
}

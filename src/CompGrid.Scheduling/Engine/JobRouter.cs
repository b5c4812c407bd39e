using Microsoft.Extensions.Logging;

namespace CompGrid;

/// <summary>
/// Routing and defaults: which backend runs a job (the named one, else the default backend, else the first registered
/// one that can), the walltime and memory a job gets when it sets none, and new job ids.
/// </summary>
internal sealed class JobRouter(IReadOnlyList<IComputeBackend> backends, CompGridOptions options, TimeProvider time, ILogger logger)
{
    /// <summary>The registered backends, in registration order.</summary>
    public IReadOnlyList<IComputeBackend> Backends => backends;

    /// <summary>Checks the backends at start-up: at least one, unique names, and the default backend registered.</summary>
    public void Validate()
    {
        if (backends.Count == 0)
            throw new CompGridException("No backend is registered: add one, for example builder.AddLocalBackend().") { Operation = "start" };
        var dup = backends.GroupBy(b => b.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new CompGridException($"Two backends are named '{dup.Key}'; backend names must be unique.") { Operation = "start" };
        if (options.DefaultBackend is { } def && backends.All(b => b.Name != def))
            throw new CompGridException($"CompGrid:DefaultBackend names '{def}', which is not registered. Registered: {string.Join(", ", backends.Select(b => b.Name))}.") { Operation = "start" };
    }

    /// <summary>The backend for a new job, or null with the field and the rule that failed.</summary>
    public IComputeBackend? Route(JobSpec spec, out string? error, out string field)
    {
        field = "constraints.backend";
        error = null;
        var kind = spec.Payload!.Kind;
        if (spec.Constraints.Backend is { } name)
        {
            var named = backends.FirstOrDefault(b => b.Name == name);
            if (named is null) { error = $"unknown backend '{name}'; registered: {string.Join(", ", backends.Select(b => b.Name))}"; return null; }
            error = CannotRun(named, spec);
            if (error is not null) field = FieldOf(named, spec);
            return error is null ? named : null;
        }
        var candidates = options.DefaultBackend is { } def ? backends.Where(b => b.Name == def).Concat(backends.Where(b => b.Name != def)) : backends;
        foreach (var b in candidates)
            if (CannotRun(b, spec) is null) return b;
        field = kind == PayloadKind.Container ? "payload.image" : spec.Resources.Gpus > 0 ? "resources.gpus" : "resources.nodes";
        error = $"no registered backend can run this job ({CannotRun(backends[0], spec)})";
        return null;
    }

    /// <summary>The backend a job belongs to; throws when it is no longer registered.</summary>
    public IComputeBackend BackendOf(JobRecord job) =>
        Find(job.Backend)
        ?? throw new CompGridException($"Job '{job.Id}' belongs to backend '{job.Backend}', which is not registered.") { JobId = job.Id, Backend = job.Backend };

    /// <summary>The backend with this name, or null.</summary>
    public IComputeBackend? Find(string? name) => name is null ? null : backends.FirstOrDefault(b => b.Name == name);

    /// <summary>The job's walltime, or the default.</summary>
    public TimeSpan WalltimeOf(JobSpec spec) => spec.Walltime ?? options.DefaultWalltime;

    /// <summary>The job's memory per node, or the default per CPU times its CPUs.</summary>
    public long MemoryPerNode(JobSpec spec) => spec.Resources.MemoryMiB > 0 ? spec.Resources.MemoryMiB : options.DefaultMemoryMiBPerCpu * spec.Resources.Cpus;

    /// <summary>A new job id, sortable by submit time: "cg-" + 12 hex digits of milliseconds + 8 random hex digits.</summary>
    public string NewJobId()
    {
        long ms = time.GetUtcNow().ToUnixTimeMilliseconds();
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"cg-{ms:x12}{Random.Shared.Next():x8}");
    }

    /// <summary>Every backend's nodes; an unreachable backend shows as one node that is down, with the error as its reason.</summary>
    public async Task<IReadOnlyList<NodeInfo>> GetNodesAsync(CancellationToken ct)
    {
        var all = new List<NodeInfo>();
        foreach (var b in backends)
        {
            try { all.AddRange(await b.GetNodesAsync(ct).ConfigureAwait(false)); }
            catch (CompGridException ex)
            {
                Log.BackendError(logger, b.Name, "nodes", ex.Message);
                all.Add(new NodeInfo { Name = b.Name, Backend = b.Name, State = NodeState.Down, Reason = ex.Message });
            }
        }
        return all;
    }

    private static string? CannotRun(IComputeBackend b, JobSpec spec)
    {
        var caps = b.Capabilities;
        if (!caps.Payloads.Contains(spec.Payload!.Kind)) return $"backend '{b.Name}' does not run {spec.Payload.Kind} payloads";
        if (spec.Resources.Gpus > 0 && !caps.Gpus) return $"backend '{b.Name}' has no GPUs";
        if (spec.Resources.Nodes > 1 && !caps.MultiNode) return $"backend '{b.Name}' runs single-node jobs only";
        return null;
    }

    private static string FieldOf(IComputeBackend b, JobSpec spec) =>
        !b.Capabilities.Payloads.Contains(spec.Payload!.Kind) ? "payload" : spec.Resources.Gpus > 0 && !b.Capabilities.Gpus ? "resources.gpus" : "resources.nodes";
}

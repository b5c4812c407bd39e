using CompGrid.Placement;

namespace CompGrid.Backfill;

/// <summary>
/// The pending queue a <see cref="SchedulingCycle"/> keeps between cycles: jobs in priority order with their placement
/// request computed once (on arrival), a shape id per distinct request, and per block of <see cref="BlockSize"/> slots
/// the smallest node count and walltime in it — so a cycle skips, in one comparison, whole runs of jobs that cannot fit
/// the free capacity. Removal leaves a hole (compacted when holes outnumber jobs), so starting a job is O(1).
/// Not thread-safe.
/// </summary>
internal sealed class PendingQueue
{
    /// <summary>Slots per skip block.</summary>
    public const int BlockSize = 64;

    private JobRecord?[] _jobs = new JobRecord?[256];
    private BackfillCandidate[] _candidates = new BackfillCandidate[256];
    private string?[] _never = new string?[256];
    private int[] _shape = new int[256];
    private int[] _need = new int[256];
    private long[] _wall = new long[256];
    private int[] _blockNeed = new int[4];
    private long[] _blockWall = new long[4];
    private readonly Dictionary<PlacementRequest, int> _shapes = [];
    private readonly Dictionary<string, int> _slotOf = new(StringComparer.Ordinal);

    /// <summary>Slots in use, holes included.</summary>
    public int Slots { get; private set; }

    /// <summary>Jobs in the queue.</summary>
    public int Count => _slotOf.Count;

    /// <summary>The first slot that may hold a job.</summary>
    public int Head { get; private set; }

    /// <summary>Distinct placement requests seen (shape ids are below this).</summary>
    public int ShapeCount => _shapes.Count;

    /// <summary>Bumped on every arrival, removal and reorder: a cycle with the same version and cluster generation has nothing new to do.</summary>
    public long Version { get; private set; }

    /// <summary>Bumped when slots move (compaction, reorder, clear): slot numbers from before are void.</summary>
    public long Layout { get; private set; }

    /// <summary>The job in slot <paramref name="slot"/>, or null for a hole.</summary>
    public JobRecord? Job(int slot) => _jobs[slot];

    /// <summary>The placement request and walltime of slot <paramref name="slot"/>.</summary>
    public ref readonly BackfillCandidate Candidate(int slot) => ref _candidates[slot];

    /// <summary>Why the job in slot <paramref name="slot"/> can never run on this cluster, or null.</summary>
    public string? Never(int slot) => _never[slot];

    /// <summary>The shape id of slot <paramref name="slot"/>.</summary>
    public int Shape(int slot) => _shape[slot];

    /// <summary>The nodes slot <paramref name="slot"/> needs that have a free CPU (0 when it needs no CPU; <see cref="int.MaxValue"/> for a hole).</summary>
    public int Need(int slot) => _need[slot];

    /// <summary>The walltime of slot <paramref name="slot"/> in ticks (<see cref="long.MaxValue"/> for a hole).</summary>
    public long Walltime(int slot) => _wall[slot];

    /// <summary>The smallest <see cref="Need"/> in block <paramref name="block"/> (holes may leave it lower than the truth, never higher).</summary>
    public int BlockNeed(int block) => _blockNeed[block];

    /// <summary>The smallest <see cref="Walltime"/> in block <paramref name="block"/> (a lower bound, like <see cref="BlockNeed"/>).</summary>
    public long BlockWalltime(int block) => _blockWall[block];

    /// <summary>Whether job <paramref name="id"/> is queued.</summary>
    public bool Contains(string id) => _slotOf.ContainsKey(id);

    /// <summary>Empties the queue (shape ids are kept).</summary>
    public void Clear()
    {
        Array.Clear(_jobs, 0, Slots);
        _slotOf.Clear();
        Slots = 0;
        Head = 0;
        Version++;
        Layout++;
    }

    /// <summary>Appends a job behind every queued one. <paramref name="never"/> says why it can never run (or null).</summary>
    public void Append(JobRecord job, in BackfillCandidate candidate, string? never)
    {
        if (Slots == _jobs.Length) Grow();
        int s = Slots++;
        if (!_slotOf.TryAdd(job.Id, s)) throw new InvalidOperationException($"Job '{job.Id}' is already queued.");
        if (!_shapes.TryGetValue(candidate.Request, out int shape)) _shapes.Add(candidate.Request, shape = _shapes.Count);
        _jobs[s] = job;
        _candidates[s] = candidate;
        _never[s] = never;
        _shape[s] = shape;
        // A job that needs CPUs can only use nodes with a free CPU: the bound the skip blocks test against.
        _need[s] = never is not null ? int.MaxValue : candidate.Request.Cpus > 0 ? Math.Max(1, candidate.Request.Nodes) : 0;
        _wall[s] = never is not null ? long.MaxValue : candidate.Walltime.Ticks;
        int b = s / BlockSize;
        if (b >= _blockNeed.Length) { Array.Resize(ref _blockNeed, _blockNeed.Length * 2); Array.Resize(ref _blockWall, _blockWall.Length * 2); }
        if (s % BlockSize == 0) { _blockNeed[b] = _need[s]; _blockWall[b] = _wall[s]; }
        else { _blockNeed[b] = Math.Min(_blockNeed[b], _need[s]); _blockWall[b] = Math.Min(_blockWall[b], _wall[s]); }
        Version++;
    }

    /// <summary>Removes job <paramref name="id"/> (started, cancelled). Returns false when it is not queued.</summary>
    public bool Remove(string id)
    {
        if (!_slotOf.Remove(id, out int s)) return false;
        _jobs[s] = null;
        _need[s] = int.MaxValue;
        _wall[s] = long.MaxValue;
        while (Head < Slots && _jobs[Head] is null) Head++;
        Version++;
        if (Slots - Head > 2 * BlockSize && Slots - Head - Count > Count) Compact();
        return true;
    }

    /// <summary>
    /// Swaps in a newer record of a queued job whose scheduling inputs did not change (a new pending reason): same slot,
    /// same request, and no version bump, so the next cycle still has nothing new to do. Returns false when it is not queued.
    /// </summary>
    public bool Replace(JobRecord job)
    {
        if (!_slotOf.TryGetValue(job.Id, out int s)) return false;
        _jobs[s] = job;
        return true;
    }

    /// <summary>The queued jobs in priority order.</summary>
    public List<JobRecord> Jobs()
    {
        var list = new List<JobRecord>(Count);
        for (int s = Head; s < Slots; s++) if (_jobs[s] is { } j) list.Add(j);
        return list;
    }

    /// <summary>Moves the jobs to the order of <paramref name="ordered"/> (the same jobs, reordered by the ordering policy).</summary>
    public void Reorder(List<JobRecord> ordered)
    {
        var entries = new (JobRecord Job, BackfillCandidate Candidate, string? Never)[ordered.Count];
        for (int k = 0; k < ordered.Count; k++)
        {
            int s = _slotOf[ordered[k].Id];
            entries[k] = (ordered[k], _candidates[s], _never[s]);
        }
        Clear();
        foreach (var (job, candidate, never) in entries) Append(job, candidate, never);
    }

    private void Compact()
    {
        var entries = new List<(JobRecord Job, BackfillCandidate Candidate, string? Never)>(Count);
        for (int s = Head; s < Slots; s++) if (_jobs[s] is { } j) entries.Add((j, _candidates[s], _never[s]));
        Clear();
        foreach (var (job, candidate, never) in entries) Append(job, candidate, never);
    }

    private void Grow()
    {
        int n = _jobs.Length * 2;
        Array.Resize(ref _jobs, n);
        Array.Resize(ref _candidates, n);
        Array.Resize(ref _never, n);
        Array.Resize(ref _shape, n);
        Array.Resize(ref _need, n);
        Array.Resize(ref _wall, n);
    }
}

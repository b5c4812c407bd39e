using CompGrid.Placement;

namespace CompGrid.Backfill;

/// <summary>
/// EASY backfill over a <see cref="ClusterSnapshot"/>: jobs are tried in priority order and started while they fit;
/// the first job that does not fit gets a reservation (the earliest time — the shadow time — at which enough running
/// jobs will have ended, by their walltime limits, and the nodes it will use then); later jobs start only if they do not
/// delay it: they end before the shadow time, or they avoid the reserved nodes. Every job left pending gets a reason
/// and, for the first <see cref="BackfillOptions.EstimateDepth"/>, an estimated start from a replay of the running
/// jobs' ends. Started jobs are allocated in the snapshot. Not thread-safe; reuse one instance per scheduler.
/// </summary>
internal sealed class EasyBackfillScheduler
{
    private readonly IPlacementPolicy _policy;
    private readonly BackfillOptions _options;
    private readonly BackfillResult _result = new();
    private int[] _chosen = new int[64];
    private readonly ReleaseEvents _events = new();
    private long[] _eventEnd = [];
    private int[] _eventId = [];
    // Per node, the shares of the events on it, and the time it first fits the reservation's request.
    private readonly NodeShares _shares = new();
    private long[] _fitTime = [];
    // The reservation's replay left _simScratch at the shadow time with every event up to it released (Run only).
    private bool _simAtShadow;
    private bool[] _reservedFlag = [];
    private readonly List<PendingStart> _started = [];
    // What-if copies of the cluster (the reservation's replay, the cluster without the reserved nodes), kept between
    // cycles and overwritten from the live snapshot: a fresh clone per cycle cost more than the rest of the cycle.
    private ClusterSnapshot? _simScratch, _maskedScratch;

    // A job started in this cycle: by candidate index (Run), or with its own nodes and request (RunQueue).
    private readonly record struct PendingStart(int Candidate, long End, int[]? Nodes = null, PlacementRequest Request = default);

    // Per-shape state of one RunQueue cycle: a request that failed on the whole cluster (or on the cluster without the
    // reserved nodes) fails again for the rest of the cycle, since capacity only shrinks while the cycle runs.
    private bool[] _shapeDead = [];
    private bool[] _shapeMaskedDead = [];

    /// <summary>Creates a scheduler placing with <paramref name="policy"/>.</summary>
    public EasyBackfillScheduler(IPlacementPolicy policy, BackfillOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        _policy = policy;
        _options = options ?? new BackfillOptions();
        if (_options.EstimateDepth < 0) throw new ArgumentException("Backfill.EstimateDepth must not be negative.", nameof(options));
        if (_options.MaxJobTest < 0) throw new ArgumentException("Backfill.MaxJobTest must not be negative.", nameof(options));
    }

    /// <summary>The placement policy.</summary>
    public IPlacementPolicy Policy => _policy;

    /// <summary>
    /// Runs one cycle. <paramref name="pending"/> is in priority order. Returns the (reused) result: which candidates
    /// started and where, and why the others wait.
    /// </summary>
    public BackfillResult Run(ClusterSnapshot cluster, ReadOnlySpan<RunningAllocation> running, ReadOnlySpan<BackfillCandidate> pending,
        DateTimeOffset now, IBackfillGate? gate = null)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        BackfillResult result = _result;
        result.Reset(pending.Length);
        _started.Clear();
        _q = QueueCycleState.None; // this cycle reuses the buffers a RunQueue continuation would need
        _events.Reset();
        _simAtShadow = false;
        long nowT = now.UtcTicks;
        int limit = _options.MaxJobTest > 0 ? Math.Min(_options.MaxJobTest, pending.Length) : pending.Length;
        int i = 0;
        long shadow = long.MaxValue;

        // Phase 1: start jobs in order until one does not fit; it gets the reservation.
        for (; i < limit; i++)
        {
            PendingReason g = gate?.Check(i) ?? PendingReason.None;
            if (g != PendingReason.None) { result.SetPending(i, g); continue; }
            BackfillCandidate c = pending[i];
            Span<int> chosen = Chosen(c.Request.Nodes);
            if (_policy.TryPlace(cluster, c.Request, chosen))
            {
                Start(cluster, null, i, c, chosen, nowT, gate);
                continue;
            }
            result.SetPending(i, PendingReason.Resources);
            if (TryReserve(cluster, running, pending, c, nowT, out shadow))
            {
                result.ReservationHolder = i;
                result.ShadowTime = new DateTimeOffset(shadow, TimeSpan.Zero);
                result.SetEstimate(i, shadow);
                i++;
                break;
            }
            // It can never fit (more than the cluster has): it blocks nobody.
        }

        // Phase 2: backfill behind the reservation (or, with backfill off, hold everything).
        if (result.ReservationHolder >= 0)
        {
            if (!_options.Enabled)
            {
                for (; i < pending.Length; i++)
                {
                    PendingReason g = gate?.Check(i) ?? PendingReason.None;
                    result.SetPending(i, g != PendingReason.None ? g : PendingReason.Priority);
                }
            }
            else
            {
                ClusterSnapshot masked = Scratch(ref _maskedScratch, cluster);
                if (_reservedFlag.Length < cluster.Count) _reservedFlag = new bool[cluster.Count];
                Array.Clear(_reservedFlag, 0, cluster.Count);
                foreach (int r in result.ReservedNodes) { _reservedFlag[r] = true; masked.SetSchedulable(r, false); }
                // Nodes with a free CPU, on the whole cluster and off the reserved nodes: a job needing more nodes than
                // that cannot be placed, so it is decided without a search (the queue's tail once the cluster is full).
                int free = 0, maskedFree = 0;
                for (int n = 0; n < cluster.Count; n++)
                    if (HasFreeCpu(cluster, n)) { free++; if (!_reservedFlag[n]) maskedFree++; }
                for (; i < limit; i++)
                {
                    PendingReason g = gate?.Check(i) ?? PendingReason.None;
                    if (g != PendingReason.None) { result.SetPending(i, g); continue; }
                    BackfillCandidate c = pending[i];
                    int need = Math.Max(1, c.Request.Nodes);
                    bool countable = c.Request.Cpus > 0; // a node without a free CPU cannot take it
                    if (countable && need > free) { result.SetPending(i, PendingReason.Priority); continue; }
                    Span<int> chosen = Chosen(c.Request.Nodes);
                    long end = nowT + c.Walltime.Ticks;
                    bool shortJob = end <= shadow;
                    if (shortJob ? _policy.TryPlace(cluster, c.Request, chosen)
                        : (!countable || need <= maskedFree) && _policy.TryPlace(masked, c.Request, chosen))
                    {
                        Start(cluster, masked, i, c, chosen, nowT, gate);
                        result.BackfilledCount++;
                        foreach (int n in chosen)
                            if (!HasFreeCpu(cluster, n)) { free--; if (!_reservedFlag[n]) maskedFree--; }
                    }
                    else
                    {
                        result.SetPending(i, !shortJob && _policy.TryPlace(cluster, c.Request, chosen) ? PendingReason.Reservation : PendingReason.Priority);
                    }
                }
            }
        }
        for (; i < pending.Length; i++)
            if (result.Reason(i) == PendingReason.None && !result.Started(i))
                result.SetPending(i, gate?.Check(i) is { } g && g != PendingReason.None ? g : PendingReason.Priority);

        if (_options.EstimateDepth > 0 && result.StartedCount < pending.Length)
            Estimate(cluster, running, pending, nowT);
        return result;
    }

    /// <summary>
    /// Runs one cycle over a queue kept between cycles and reports only the jobs it starts (appended to
    /// <paramref name="starts"/>, in start order; they are allocated in <paramref name="cluster"/>, not removed from the
    /// queue). The same rules as <see cref="Run"/>: start in order while jobs fit, reserve for the first that does not,
    /// then backfill behind it — but it touches only jobs that can start: a block of the queue whose smallest node count
    /// exceeds the nodes with a free CPU (or, for jobs too long to end by the shadow time, the unreserved ones) is
    /// skipped in one test, a request shape that failed is not tried again in the cycle, and the cycle stops when no
    /// node has a free CPU. Returns the shadow time, when a job holds the reservation (never with backfill off: a strict
    /// queue needs none, so none is computed).
    /// </summary>
    public DateTimeOffset? RunQueue(ClusterSnapshot cluster, ReadOnlySpan<RunningAllocation> running, PendingQueue queue, DateTimeOffset now,
        IQueueGate? gate, List<QueueStart> starts)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(starts);
        _started.Clear();
        _events.Reset();
        long nowT = now.UtcTicks;
        int startsBefore = starts.Count;
        int tested = 0, maxTest = _options.MaxJobTest > 0 ? _options.MaxJobTest : int.MaxValue;
        int s, holder;
        long shadow;
        ClusterSnapshot? masked;
        int free, maskedFree;
        // Nothing released or started since the last cycle, same slots, same holder: every job the last cycle saw would
        // fail again, so only the jobs queued since are tried, against the state that cycle left (its reservation, its
        // cluster without the reserved nodes, its failed shapes). This is what makes an arrival cost O(1) at a full queue.
        // Not after a cycle that backfilled, though: the reservation's node choice depends on which nodes are free now
        // (PreferBusyNodes), so a job started behind it can move the reservation the full pass would make, and with it
        // the nodes a long job may take.
        if (_options.MaxJobTest == 0 && ReferenceEquals(cluster, _q.Cluster) && cluster.Generation == _q.Generation && queue.Layout == _q.Layout
            && (_q.Holder < 0 || (ReferenceEquals(queue.Job(_q.Holder), _q.HolderJob) && !_q.Backfilled)) && nowT <= _q.EarliestEnd)
        {
            s = _q.EndSlot;
            holder = _q.Holder;
            shadow = _q.Shadow;
            masked = _q.Masked;
            free = _q.Free;
            maskedFree = _q.MaskedFree;
            if (holder < 0) goto Phase1;
            if (!_options.Enabled || masked is null) goto Done;
            GrowShapes(queue.ShapeCount, keep: true);
            goto Phase2;
        }
        _result.ReservedList.Clear();
        s = queue.Head;
        holder = -1;
        shadow = long.MaxValue;
        masked = null;
        free = maskedFree = 0;
    Phase1:
        for (; s < queue.Slots && tested < maxTest; s++)
        {
            if (queue.Job(s) is not { } job || queue.Never(s) is not null) continue;
            tested++;
            if (gate is not null && gate.Check(job) != PendingReason.None) continue;
            BackfillCandidate c = queue.Candidate(s);
            Span<int> chosen = Chosen(c.Request.Nodes);
            if (_policy.TryPlace(cluster, c.Request, chosen))
            {
                StartQueued(cluster, null, job, c, chosen, nowT, false, gate, starts);
                continue;
            }
            // Strict queue: the first job that does not fit stops the cycle; it blocks the queue as long as it could
            // run once everything running has ended (its nodes exist and accept work), and no shadow time is needed.
            if (!_options.Enabled) { if (FitsWhenEmpty(cluster, c.Request)) { holder = s++; break; } continue; }
            if (TryReserve(cluster, running, [], c, nowT, out shadow)) { holder = s++; break; }
        }
        if (holder < 0 || !_options.Enabled) goto Done;

        // Nodes with a free CPU, on the whole cluster and off the reserved nodes: no job needing more can start.
        if (_reservedFlag.Length < cluster.Count) _reservedFlag = new bool[cluster.Count];
        Array.Clear(_reservedFlag, 0, cluster.Count);
        foreach (int r in _result.ReservedNodes) _reservedFlag[r] = true;
        free = maskedFree = 0;
        for (int n = 0; n < cluster.Count; n++)
            if (HasFreeCpu(cluster, n)) { free++; if (!_reservedFlag[n]) maskedFree++; }
        if (free == 0) goto Done; // nothing can start; a later cycle with the same state knows it too
        masked = Scratch(ref _maskedScratch, cluster);
        foreach (int r in _result.ReservedNodes) masked.SetSchedulable(r, false);
        GrowShapes(queue.ShapeCount, keep: false);
    Phase2:
        long slack = shadow - nowT;
        while (s < queue.Slots && free > 0 && tested < maxTest)
        {
            int block = s / PendingQueue.BlockSize, blockEnd = Math.Min(queue.Slots, (block + 1) * PendingQueue.BlockSize);
            int bn = queue.BlockNeed(block);
            if (bn > free || (bn > maskedFree && queue.BlockWalltime(block) > slack)) { s = blockEnd; continue; }
            for (; s < blockEnd && free > 0 && tested < maxTest; s++)
            {
                int need = queue.Need(s);
                if (need > free || queue.Job(s) is not { } job) continue;
                int shape = queue.Shape(s);
                if (_shapeDead[shape]) continue;
                bool shortJob = queue.Walltime(s) <= slack;
                if (!shortJob && (need > maskedFree || _shapeMaskedDead[shape])) continue;
                tested++;
                if (gate is not null && gate.Check(job) != PendingReason.None) continue;
                BackfillCandidate c = queue.Candidate(s);
                Span<int> chosen = Chosen(c.Request.Nodes);
                if (_policy.TryPlace(shortJob ? cluster : masked!, c.Request, chosen))
                {
                    StartQueued(cluster, masked, job, c, chosen, nowT, true, gate, starts);
                    foreach (int n in chosen)
                        if (!HasFreeCpu(cluster, n)) { free--; if (!_reservedFlag[n]) maskedFree--; }
                }
                else if (shortJob) _shapeDead[shape] = true;
                else _shapeMaskedDead[shape] = true;
            }
        }
    Done:
        // A running job past its expected end moves the shadow time with the clock: continue only until the first one is due.
        long earliest = long.MaxValue;
        foreach (RunningAllocation r in running) earliest = Math.Min(earliest, r.ExpectedEnd.UtcTicks);
        foreach (PendingStart p in _started) earliest = Math.Min(earliest, p.End);
        _q = new QueueCycleState(cluster, cluster.Generation, queue.Layout, queue.Slots, holder, holder >= 0 ? queue.Job(holder) : null,
            shadow, masked, free, maskedFree, earliest, holder >= 0 && starts.Count > startsBefore && starts[^1].Backfilled);
        return holder < 0 || shadow == long.MaxValue ? null : new DateTimeOffset(shadow, TimeSpan.Zero);
    }

    // What the last RunQueue cycle left, for the next one to continue from when nothing was released or started since.
    // Backfilled: a job started behind the reservation after it was made (the next cycle must make it again).
    private sealed record QueueCycleState(ClusterSnapshot? Cluster, long Generation, long Layout, int EndSlot, int Holder, JobRecord? HolderJob,
        long Shadow, ClusterSnapshot? Masked, int Free, int MaskedFree, long EarliestEnd, bool Backfilled)
    {
        public static readonly QueueCycleState None = new(null, -1, -1, 0, -1, null, long.MaxValue, null, 0, 0, long.MinValue, false);
    }

    private QueueCycleState _q = QueueCycleState.None;

    private void GrowShapes(int shapes, bool keep)
    {
        if (_shapeDead.Length < shapes)
        {
            int n = Math.Max(shapes, _shapeDead.Length * 2);
            Array.Resize(ref _shapeDead, n);
            Array.Resize(ref _shapeMaskedDead, n);
        }
        if (!keep)
        {
            Array.Clear(_shapeDead, 0, shapes);
            Array.Clear(_shapeMaskedDead, 0, shapes);
        }
    }

    private static ClusterSnapshot Scratch(ref ClusterSnapshot? scratch, ClusterSnapshot cluster)
    {
        scratch ??= new ClusterSnapshot();
        scratch.CopyFrom(cluster);
        return scratch;
    }

    private static bool FitsWhenEmpty(ClusterSnapshot cluster, in PlacementRequest request)
    {
        int need = Math.Max(1, request.Nodes), n = 0;
        for (int i = 0; i < cluster.Count && n < need; i++)
            if (cluster.Schedulable[i] && cluster.CouldEverFit(i, request)) n++;
        return n >= need;
    }

    private static bool HasFreeCpu(ClusterSnapshot cluster, int node) =>
        cluster.FreeCpus[node] > 0 && cluster.Schedulable[node] && !cluster.HeldExclusively[node];

    private void StartQueued(ClusterSnapshot cluster, ClusterSnapshot? masked, JobRecord job, in BackfillCandidate c, Span<int> chosen, long nowT,
        bool backfilled, IQueueGate? gate, List<QueueStart> starts)
    {
        if (chosen.Length == 1) cluster.Allocate(chosen[0], c.Request);
        else cluster.AllocateGang(chosen, c.Request);
        if (masked is not null)
            foreach (int n in chosen)
                if (!_reservedFlag[n]) masked.Allocate(n, c.Request);
        int[] nodes = chosen.ToArray();
        _started.Add(new PendingStart(-1, nowT + c.Walltime.Ticks, nodes, c.Request));
        starts.Add(new QueueStart(job, nodes, backfilled));
        gate?.OnStarted(job);
    }

    private Span<int> Chosen(int nodes)
    {
        int need = Math.Max(1, nodes);
        if (_chosen.Length < need) _chosen = new int[Math.Max(need, _chosen.Length * 2)];
        return _chosen.AsSpan(0, need);
    }

    private void Start(ClusterSnapshot cluster, ClusterSnapshot? masked, int i, in BackfillCandidate c, Span<int> chosen, long nowT, IBackfillGate? gate)
    {
        if (chosen.Length == 1) cluster.Allocate(chosen[0], c.Request);
        else cluster.AllocateGang(chosen, c.Request);
        if (masked is not null)
            foreach (int n in chosen)
                if (!_reservedFlag[n]) masked.Allocate(n, c.Request);
        _result.SetStarted(i, chosen, nowT);
        _started.Add(new PendingStart(i, nowT + c.Walltime.Ticks));
        gate?.OnStarted(i, chosen);
    }

    // Release events (running jobs and jobs started this cycle) sorted by end time into _eventEnd/_eventId; returns the count.
    private int SortEvents(ReadOnlySpan<RunningAllocation> running, long nowT)
    {
        Span<long> startedEnds = _events.StartedEnds(_started.Count);
        for (int k = 0; k < startedEnds.Length; k++) startedEnds[k] = _started[k].End;
        _events.Merge(running, nowT, startedEnds.Length);
        _eventEnd = _events.End;
        _eventId = _events.Id;
        return _events.Count;
    }

    // The nodes an event releases and the request they release (running job or job started this cycle), and its time.
    private ReadOnlySpan<int> EventNodes(ReadOnlySpan<RunningAllocation> running, ReadOnlySpan<BackfillCandidate> pending, int id,
        long nowT, out PlacementRequest request, out long end)
    {
        if (id < running.Length)
        {
            ref readonly RunningAllocation r = ref running[id];
            request = r.Request;
            end = Math.Max(nowT, r.ExpectedEnd.UtcTicks);
            return r.Nodes;
        }
        PendingStart s = _started[id - running.Length];
        end = s.End;
        if (s.Nodes is { } own) { request = s.Request; return own; }
        request = pending[s.Candidate].Request;
        return _result.NodesOf(s.Candidate);
    }

    private void ReleaseEvent(ClusterSnapshot sim, ReadOnlySpan<RunningAllocation> running, ReadOnlySpan<BackfillCandidate> pending, int id,
        in PlacementRequest watch, ref int fitting)
    {
        if (id < running.Length)
        {
            RunningAllocation r = running[id];
            foreach (int n in r.Nodes) ReleaseOne(sim, n, r.Request, watch, ref fitting);
        }
        else if (_started[id - running.Length] is { Nodes: { } own } s)
        {
            foreach (int n in own) ReleaseOne(sim, n, s.Request, watch, ref fitting);
        }
        else
        {
            int cand = _started[id - running.Length].Candidate;
            foreach (int n in _result.NodesOf(cand)) ReleaseOne(sim, n, pending[cand].Request, watch, ref fitting);
        }
    }

    private static void ReleaseOne(ClusterSnapshot sim, int node, in PlacementRequest alloc, in PlacementRequest watch, ref int fitting)
    {
        bool before = sim.Fits(node, watch);
        sim.Release(node, alloc);
        if (!before && sim.Fits(node, watch)) fitting++;
    }

    private bool TryReserve(ClusterSnapshot cluster, ReadOnlySpan<RunningAllocation> running, ReadOnlySpan<BackfillCandidate> pending,
        in BackfillCandidate top, long nowT, out long shadow)
    {
        shadow = long.MaxValue;
        int need = Math.Max(1, top.Request.Nodes);
        int m = SortEvents(running, nowT);
        ClusterSnapshot sim = Scratch(ref _simScratch, cluster);
        long at = FirstTimeEnoughFit(sim, running, pending, top.Request, need, nowT);
        if (at == long.MaxValue) return false; // not enough nodes fit even once everything has ended
        sim = Scratch(ref _simScratch, cluster);
        int e = 0, fitting = 0;
        if (at == long.MinValue)
        {
            for (int n = 0; n < sim.Count; n++) if (sim.Fits(n, top.Request)) fitting++;
        }
        else
        {
            // Straight to the first time enough nodes fit: every event up to it released, in any order (releases commute).
            int total = running.Length + _started.Count;
            for (int id = 0; id < total; id++)
            {
                ReadOnlySpan<int> nodes = EventNodes(running, pending, id, nowT, out PlacementRequest request, out long end);
                if (end <= at) sim.ReleaseGang(nodes, request);
            }
            while (e < m && _eventEnd[e] <= at) e++;
            fitting = need; // only compared with need, and releases only add to it
        }
        while (true)
        {
            if (fitting >= need)
            {
                Span<int> chosen = Chosen(need);
                if (_policy.TryPlace(sim, top.Request, chosen))
                {
                    shadow = e == 0 ? nowT : _eventEnd[e - 1];
                    _simAtShadow = e == m || _eventEnd[e] > shadow;
                    if (e > 0) PreferBusyNodes(cluster, sim, top.Request, chosen);
                    foreach (int n in chosen) _result.ReservedList.Add(n);
                    return true;
                }
            }
            if (e == m) return false;
            long t = _eventEnd[e];
            while (e < m && _eventEnd[e] == t) ReleaseEvent(sim, running, pending, _eventId[e++], top.Request, ref fitting);
        }
    }

    // The first time at which `need` nodes fit `watch` (long.MinValue: they fit now, before any release; long.MaxValue:
    // never). A node's fit changes only with the events on it, and only from no to yes, so the node fits from the end of
    // the first of its own events (in end order) after which it does; the answer is the need-th smallest of those. The
    // events are read once, in array order, into per-node lists, and each node is then released on its own: a
    // time-ordered walk over tens of thousands of ends jumps through memory at every step and cost several times more.
    // Leaves `sim` with arbitrary events released.
    private long FirstTimeEnoughFit(ClusterSnapshot sim, ReadOnlySpan<RunningAllocation> running, ReadOnlySpan<BackfillCandidate> pending,
        in PlacementRequest watch, int need, long nowT)
    {
        int count = sim.Count;
        _shares.Reset(count);
        for (int k = 0; k < running.Length; k++)
        {
            ref readonly RunningAllocation r = ref running[k];
            long end = Math.Max(nowT, r.ExpectedEnd.UtcTicks);
            foreach (int n in r.Nodes) _shares.Add(n, end, r.Request);
        }
        for (int id = running.Length; id < running.Length + _started.Count; id++)
        {
            ReadOnlySpan<int> nodes = EventNodes(running, pending, id, nowT, out PlacementRequest request, out long end);
            foreach (int n in nodes) _shares.Add(n, end, request);
        }
        if (_fitTime.Length < count) _fitTime = new long[count];
        int fitNow = 0, fitEver = 0;
        for (int n = 0; n < count; n++)
        {
            long t = long.MaxValue;
            if (sim.Fits(n, watch)) { t = long.MinValue; fitNow++; }
            else
            {
                ReadOnlySpan<int> shares = _shares.ByEnd(n);
                foreach (int share in shares)
                {
                    sim.Release(n, _shares.Request(share));
                    if (sim.Fits(n, watch)) { t = _shares.End(share); break; }
                }
            }
            if (t != long.MaxValue) fitEver++;
            _fitTime[n] = t;
        }
        if (fitEver < need) return long.MaxValue;
        if (fitNow >= need) return long.MinValue;
        Array.Sort(_fitTime, 0, count);
        return _fitTime[need - 1];
    }

    // Reserve, among the nodes free at the shadow time, first those that have no free CPU now: they cannot take a backfill
    // job anyway, so every node free now that the reservation can spare stays open to jobs that run past the shadow
    // time — textbook EASY's "extra processors" (Mu'alem and Feitelson, 2001). Only the node choice changes: each
    // chosen node fits the request at the shadow time either way. Keeps the policy's choice when it cannot improve it.
    private void PreferBusyNodes(ClusterSnapshot cluster, ClusterSnapshot sim, in PlacementRequest request, Span<int> chosen)
    {
        int need = chosen.Length, busy = 0, freeNowChosen = 0;
        foreach (int n in chosen) if (HasFreeCpu(cluster, n)) freeNowChosen++;
        if (freeNowChosen == 0) return;
        for (int n = 0; n < sim.Count; n++) if (!HasFreeCpu(cluster, n) && sim.Fits(n, request)) busy++;
        int k = Math.Min(need, busy);
        if (k <= need - freeNowChosen) return; // the policy already took as many busy nodes as there are
        for (int n = 0; n < sim.Count; n++) if (HasFreeCpu(cluster, n)) sim.SetSchedulable(n, false);
        int[] picked = new int[need];
        bool ok = _policy.TryPlace(sim, request with { Nodes = k }, picked.AsSpan(0, k));
        for (int n = 0; n < sim.Count; n++) if (HasFreeCpu(cluster, n)) sim.SetSchedulable(n, cluster.Schedulable[n]);
        if (!ok) return;
        if (k < need)
        {
            foreach (int n in picked.AsSpan(0, k)) sim.SetSchedulable(n, false);
            ok = _policy.TryPlace(sim, request with { Nodes = need - k }, picked.AsSpan(k));
            foreach (int n in picked.AsSpan(0, k)) sim.SetSchedulable(n, true);
            if (!ok) return;
        }
        picked.CopyTo(chosen);
    }

    // Allocates on the reservation's copy the jobs backfilled behind the holder that run past the shadow time. False
    // (the copy then unusable) when one does not fit there: the snapshot and the running jobs disagree.
    private bool AddStillRunning(ClusterSnapshot sim, ReadOnlySpan<BackfillCandidate> pending, int holder, long shadow)
    {
        foreach (PendingStart p in _started)
        {
            if (p.Candidate <= holder || p.End <= shadow) continue;
            PlacementRequest request = pending[p.Candidate].Request;
            foreach (int n in _result.NodesOf(p.Candidate))
            {
                if (!sim.Fits(n, request)) return false;
                sim.Allocate(n, request);
            }
        }
        return true;
    }

    private void Estimate(ClusterSnapshot cluster, ReadOnlySpan<RunningAllocation> running, ReadOnlySpan<BackfillCandidate> pending, long nowT)
    {
        BackfillResult result = _result;
        var waiting = new List<int>(Math.Min(_options.EstimateDepth, pending.Length));
        for (int k = 0; k < pending.Length && waiting.Count < _options.EstimateDepth; k++)
            if (!result.Started(k) && (result.Reason(k) is PendingReason.Priority or PendingReason.Reservation
                || (result.Reason(k) == PendingReason.Resources && k == result.ReservationHolder)))
                waiting.Add(k);
        if (waiting.Count == 0) return;
        int m = SortEvents(running, nowT);
        int e = 0, w = 0;
        long t = nowT;
        ClusterSnapshot? sim = null;
        // The replay places nobody before the reservation's holder (strict order), and the holder cannot fit before the
        // shadow time (the cluster has less free then than the reservation's replay found, which was not enough). Up to
        // the shadow time the replay therefore only releases what the reservation's replay released, plus the jobs
        // backfilled behind it that end by then: that replay's copy, with the backfilled jobs still running added, is
        // this replay at the shadow time, so the running jobs' ends before it are not replayed a second time. (This
        // relies on IPlacementPolicy's contract: TryPlace fails only when the job does not fit.)
        if (_simAtShadow && waiting[0] == result.ReservationHolder && result.ShadowTime is { } shadowTime
            && AddStillRunning(_simScratch!, pending, result.ReservationHolder, shadowTime.UtcTicks))
        {
            sim = _simScratch!;
            t = shadowTime.UtcTicks;
            while (e < m && _eventEnd[e] <= t) e++;
        }
        sim ??= Scratch(ref _simScratch, cluster);
        var future = new PriorityQueue<(int[] Nodes, int Candidate), long>();
        // The waiting job at the head of the line, and how many nodes fit one share of it now: a placement is only
        // attempted once enough nodes fit, so replaying tens of thousands of ends stays cheap.
        int head = -1, fitting = 0;
        while (w < waiting.Count)
        {
            // strict order in the future: start waiting jobs while the next one fits
            while (w < waiting.Count)
            {
                int cand = waiting[w];
                BackfillCandidate c = pending[cand];
                if (head != cand)
                {
                    // Releases only add fitting nodes, and the count is only compared with the nodes needed: counting
                    // up to that many (on the snapshot's index) decides exactly as a full count would.
                    head = cand;
                    fitting = sim.CountFits(c.Request, Math.Max(1, c.Request.Nodes));
                }
                if (fitting < Math.Max(1, c.Request.Nodes)) break;
                Span<int> chosen = Chosen(c.Request.Nodes);
                if (!_policy.TryPlace(sim, c.Request, chosen)) break;
                if (chosen.Length == 1) sim.Allocate(chosen[0], c.Request); else sim.AllocateGang(chosen, c.Request);
                if (result.EstimateTicks(cand) == long.MinValue) result.SetEstimate(cand, t);
                future.Enqueue((chosen.ToArray(), cand), t + c.Walltime.Ticks);
                w++;
                head = -1;
            }
            if (w >= waiting.Count) break;
            PlacementRequest watch = pending[waiting[w]].Request;
            bool hasRunning = e < m, hasFuture = future.TryPeek(out _, out long fEnd);
            if (!hasRunning && !hasFuture) { w++; head = -1; continue; } // everything has ended and it still does not fit: it never will
            t = !hasFuture || (hasRunning && _eventEnd[e] <= fEnd) ? _eventEnd[e] : fEnd;
            while (e < m && _eventEnd[e] <= t) ReleaseEvent(sim, running, pending, _eventId[e++], watch, ref fitting);
            while (future.TryPeek(out _, out long fe) && fe <= t)
            {
                var (nodes, cand) = future.Dequeue();
                foreach (int n in nodes) ReleaseOne(sim, n, pending[cand].Request, watch, ref fitting);
            }
        }
    }
}

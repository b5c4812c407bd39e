using System.Runtime.CompilerServices;

namespace CompGrid.Placement;

/// <summary>
/// The nodes a placement policy chooses from, laid out for speed: one dense index per node and one array per
/// resource (struct of arrays), features and partitions as bit masks. Policies read it and the engine updates it
/// incrementally with <see cref="Allocate"/> and <see cref="Release"/>. Not thread-safe.
/// </summary>
/// <remarks>
/// <para>
/// Besides the arrays the snapshot keeps three internal search structures, built lazily on the first search and then
/// kept current (the bitsets and cursors catch up on the next search, so a burst of releases costs one update per node): per-resource threshold bitsets (<c>ThresholdIndex</c>), a per-shape first-fit cursor
/// (<c>ShapeCursorTable</c>) and, for best-fit and spread, buckets of nodes in the same state (<c>StateBuckets</c>), so
/// that a scored search looks at each distinct state once instead of at every node. Searches allocate nothing once warm.
/// </para>
/// </remarks>
public sealed class ClusterSnapshot
{
    internal const long ScoreScale = 1_000_000;

    private readonly List<string> _features = [];
    private readonly List<string> _partitions = [];
    private readonly List<string> _gpuModels = [];
    private readonly Dictionary<string, int> _nodeIndex = new(StringComparer.Ordinal);
    private string[] _names = new string[16];
    private int[] _capCpus = new int[16], _freeCpus = new int[16], _capGpus = new int[16], _freeGpus = new int[16], _gpuModel = new int[16], _jobCount = new int[16];
    private long[] _capMem = new long[16], _freeMem = new long[16];
    private ulong[] _featureMask = new ulong[16], _partitionMask = new ulong[16];
    private bool[] _schedulable = new bool[16], _exclusive = new bool[16];

    // The search structures, each kept current on every change (see their summaries).
    private readonly ThresholdIndex _index = new();
    private readonly ShapeCursorTable _cursors = new();
    private readonly StateBuckets _buckets = new();

    // Bumped when nodes are added; with _copiedFrom, lets CopyFrom skip what only AddNode changes.
    private long _topology, _copiedTopology;
    private ClusterSnapshot? _copiedFrom;

    /// <summary>Number of nodes.</summary>
    public int Count { get; private set; }

    /// <summary>Incremented on every change, so caches keyed on it can tell the snapshot changed.</summary>
    public long Generation { get; private set; }

    /// <summary>Node names by index.</summary>
    public ReadOnlySpan<string> Names => _names.AsSpan(0, Count);

    /// <summary>Total CPUs by node index.</summary>
    public ReadOnlySpan<int> CapacityCpus => _capCpus.AsSpan(0, Count);

    /// <summary>Free CPUs by node index.</summary>
    public ReadOnlySpan<int> FreeCpus => _freeCpus.AsSpan(0, Count);

    /// <summary>Total memory (MiB) by node index.</summary>
    public ReadOnlySpan<long> CapacityMemoryMiB => _capMem.AsSpan(0, Count);

    /// <summary>Free memory (MiB) by node index.</summary>
    public ReadOnlySpan<long> FreeMemoryMiB => _freeMem.AsSpan(0, Count);

    /// <summary>Total GPUs by node index.</summary>
    public ReadOnlySpan<int> CapacityGpus => _capGpus.AsSpan(0, Count);

    /// <summary>Free GPUs by node index.</summary>
    public ReadOnlySpan<int> FreeGpus => _freeGpus.AsSpan(0, Count);

    /// <summary>GPU model id by node index (0 = none or unknown; see <see cref="GetGpuModelId"/>).</summary>
    public ReadOnlySpan<int> GpuModels => _gpuModel.AsSpan(0, Count);

    /// <summary>Feature bit masks by node index (see <see cref="GetFeatureMask"/>).</summary>
    public ReadOnlySpan<ulong> FeatureMasks => _featureMask.AsSpan(0, Count);

    /// <summary>Partition bit masks by node index (see <see cref="GetPartitionMask"/>).</summary>
    public ReadOnlySpan<ulong> PartitionMasks => _partitionMask.AsSpan(0, Count);

    /// <summary>Whether each node accepts new work (Up and not held exclusively).</summary>
    public ReadOnlySpan<bool> Schedulable => _schedulable.AsSpan(0, Count);

    /// <summary>Number of jobs on each node.</summary>
    public ReadOnlySpan<int> JobCounts => _jobCount.AsSpan(0, Count);

    /// <summary>Whether each node is held by an exclusive job.</summary>
    public ReadOnlySpan<bool> HeldExclusively => _exclusive.AsSpan(0, Count);

    /// <summary>Number of distinct request shapes with a cached first-fit cursor (diagnostics).</summary>
    public int CachedShapeCount => _cursors.Count;

    /// <summary>Number of distinct node states the scored searches look at (diagnostics; 0 until a scored search ran).</summary>
    public int DistinctNodeStates => _buckets.LiveCount;

    /// <summary>Adds a node and returns its index. Features and partitions beyond 64 distinct names each are rejected.</summary>
    public int AddNode(string name, NodeResources capacity, NodeResources free, IEnumerable<string>? features = null,
        IEnumerable<string>? partitions = null, string? gpuModel = null, bool schedulable = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (_nodeIndex.ContainsKey(name))
            throw new ArgumentException($"A node named '{name}' is already in the snapshot.", nameof(name));
        if (capacity.Cpus < 0 || capacity.MemoryMiB < 0 || capacity.Gpus < 0)
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "Capacity must not be negative.");
        if (free.Cpus < 0 || free.MemoryMiB < 0 || free.Gpus < 0 || !capacity.Covers(free))
            throw new ArgumentOutOfRangeException(nameof(free), free, "Free resources must be between zero and the capacity.");
        if (Count == _names.Length) Grow();
        int i = Count++;
        _nodeIndex[name] = i;
        _names[i] = name;
        _capCpus[i] = capacity.Cpus; _capMem[i] = capacity.MemoryMiB; _capGpus[i] = capacity.Gpus;
        _freeCpus[i] = free.Cpus; _freeMem[i] = free.MemoryMiB; _freeGpus[i] = free.Gpus;
        _featureMask[i] = features is null ? 0 : Intern(_features, features, "feature");
        _partitionMask[i] = partitions is null ? 0 : Intern(_partitions, partitions, "partition");
        _gpuModel[i] = gpuModel is null ? 0 : InternId(_gpuModels, gpuModel);
        _schedulable[i] = schedulable;
        _exclusive[i] = false;
        _jobCount[i] = 0;
        // A new node is appended after every cursor, so cursors stay valid; the indexes are rebuilt on next use.
        _index.Invalidate();
        _buckets.Invalidate();
        _topology++;
        Generation++;
        return i;
    }

    /// <summary>The index of a node, or -1.</summary>
    public int IndexOf(string name) => _nodeIndex.TryGetValue(name, out int i) ? i : -1;

    /// <summary>The bit mask of the given features; <see langword="false"/> when a feature is unknown to every node.</summary>
    public bool TryGetFeatureMask(IEnumerable<string> features, out ulong mask) => TryMask(_features, features, out mask);

    /// <summary>The bit mask of one partition; <see langword="false"/> when no node is in it.</summary>
    public bool TryGetPartitionMask(string partition, out ulong mask) => TryMask(_partitions, [partition], out mask);

    /// <summary>The bit mask of the given features (unknown features are ignored).</summary>
    public ulong GetFeatureMask(IEnumerable<string> features) { TryMask(_features, features, out ulong m); return m; }

    /// <summary>The bit mask of a partition (0 when unknown).</summary>
    public ulong GetPartitionMask(string partition) { TryMask(_partitions, [partition], out ulong m); return m; }

    /// <summary>The id of a GPU model (0 when no node has it).</summary>
    public int GetGpuModelId(string model)
    {
        int i = _gpuModels.FindIndex(m => string.Equals(m, model, StringComparison.OrdinalIgnoreCase));
        return i < 0 ? 0 : i + 1;
    }

    /// <summary>
    /// Builds the placement request for a job's resources and constraints. Returns <see langword="false"/> with a
    /// reason when the constraints name a partition, feature or GPU model no node has (the job can never fit).
    /// </summary>
    public bool TryCreateRequest(ResourceRequest resources, JobConstraints constraints, long memoryMiBPerNode, out PlacementRequest request, out string? reason)
    {
        ArgumentNullException.ThrowIfNull(resources);
        ArgumentNullException.ThrowIfNull(constraints);
        request = default;
        reason = null;
        ulong partitionMask = 0;
        if (constraints.Partition is { } p && !TryGetPartitionMask(p, out partitionMask))
        {
            reason = $"no node is in partition '{p}'";
            return false;
        }
        if (!TryGetFeatureMask(constraints.RequiredFeatures, out ulong required))
        {
            reason = $"no node has the required features {string.Join(",", constraints.RequiredFeatures)}";
            return false;
        }
        ulong forbidden = GetFeatureMask(constraints.ForbiddenFeatures);
        int gpuModel = 0;
        if (resources.GpuModel is { } gm && resources.Gpus > 0)
        {
            gpuModel = GetGpuModelId(gm);
            if (gpuModel == 0) { reason = $"no node has GPU model '{gm}'"; return false; }
        }
        request = new PlacementRequest(resources.Cpus, memoryMiBPerNode, resources.Gpus, resources.Nodes, required, forbidden, partitionMask, gpuModel, constraints.Exclusive);
        return true;
    }

    /// <summary>Whether node <paramref name="node"/> can take one node's share of <paramref name="request"/> now.</summary>
    public bool Fits(int node, in PlacementRequest request) =>
        _schedulable[node] && !_exclusive[node]
        && _freeCpus[node] >= request.Cpus && _freeMem[node] >= request.MemoryMiB && _freeGpus[node] >= request.Gpus
        && MatchesStatic(node, request)
        && (!request.Exclusive || _jobCount[node] == 0);

    /// <summary>
    /// Whether node <paramref name="node"/> could ever take one node's share of <paramref name="request"/>: its
    /// capacity, features, partition and GPU model allow it (whatever runs on it now and whether it accepts work).
    /// </summary>
    public bool CouldEverFit(int node, in PlacementRequest request) =>
        _capCpus[node] >= request.Cpus && _capMem[node] >= request.MemoryMiB && _capGpus[node] >= request.Gpus && MatchesStatic(node, request);

    /// <summary>Whether the node's features, partitions and GPU model satisfy the request (resources aside).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool MatchesStatic(int node, in PlacementRequest request) =>
        (_featureMask[node] & request.RequiredFeatures) == request.RequiredFeatures
        && (_featureMask[node] & request.ForbiddenFeatures) == 0
        && (request.PartitionMask == 0 || (_partitionMask[node] & request.PartitionMask) != 0)
        && (request.GpuModel == 0 || _gpuModel[node] == request.GpuModel);

    /// <summary>Takes one node's share of <paramref name="request"/> from node <paramref name="node"/>. Throws when it does not fit.</summary>
    public void Allocate(int node, in PlacementRequest request)
    {
        if ((uint)node >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(node));
        if (!Fits(node, request))
            throw new InvalidOperationException($"Node '{_names[node]}' cannot take {request}.");
        Take(node, request);
    }

    // Allocate once the node is known to fit.
    private void Take(int node, in PlacementRequest request)
    {
        _freeCpus[node] -= request.Cpus; _freeMem[node] -= request.MemoryMiB; _freeGpus[node] -= request.Gpus;
        _jobCount[node]++;
        if (request.Exclusive) _exclusive[node] = true;
        _index.MarkChanged(node);
        if (_buckets.IsBuilt) _buckets.Move(this, node);
        Generation++;
    }

    /// <summary>Takes one node's share of <paramref name="request"/> from each node in <paramref name="nodes"/> (a gang). Throws, changing nothing, when one does not fit.</summary>
    public void AllocateGang(ReadOnlySpan<int> nodes, in PlacementRequest request)
    {
        bool ascending = true; // as the searches return them: no node can repeat, so the quadratic check is skipped
        for (int k = 0; k < nodes.Length; k++)
        {
            if ((uint)nodes[k] >= (uint)Count || !Fits(nodes[k], request))
                throw new InvalidOperationException($"Node {((uint)nodes[k] < (uint)Count ? _names[nodes[k]] : "#" + nodes[k].ToString(System.Globalization.CultureInfo.InvariantCulture))} cannot take {request}.");
            if (k > 0 && nodes[k] <= nodes[k - 1]) ascending = false;
        }
        if (!ascending)
            for (int k = 1; k < nodes.Length; k++)
                for (int j = 0; j < k; j++)
                    if (nodes[j] == nodes[k]) throw new InvalidOperationException($"Node '{_names[nodes[k]]}' appears twice in a gang.");
        for (int k = 0; k < nodes.Length; k++) Take(nodes[k], request);
    }

    /// <summary>Gives back one node's share of <paramref name="request"/> to node <paramref name="node"/>.</summary>
    public void Release(int node, in PlacementRequest request)
    {
        if ((uint)node >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(node));
        _freeCpus[node] = Math.Min(_capCpus[node], _freeCpus[node] + request.Cpus);
        _freeMem[node] = Math.Min(_capMem[node], _freeMem[node] + request.MemoryMiB);
        _freeGpus[node] = Math.Min(_capGpus[node], _freeGpus[node] + request.Gpus);
        if (_jobCount[node] > 0) _jobCount[node]--;
        if (request.Exclusive) _exclusive[node] = false;
        _index.MarkChanged(node);
        if (_buckets.IsBuilt) _buckets.Move(this, node);
        _cursors.Rewind(node);
        Generation++;
    }

    /// <summary>Gives back one node's share of <paramref name="request"/> to each node in <paramref name="nodes"/>.</summary>
    public void ReleaseGang(ReadOnlySpan<int> nodes, in PlacementRequest request)
    {
        for (int k = 0; k < nodes.Length; k++) Release(nodes[k], request);
    }

    /// <summary>Marks a node as accepting work or not.</summary>
    public void SetSchedulable(int node, bool schedulable)
    {
        if ((uint)node >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(node));
        _schedulable[node] = schedulable;
        _index.MarkChanged(node);
        if (_buckets.IsBuilt) _buckets.Move(this, node);
        if (schedulable) _cursors.Rewind(node);
        Generation++;
    }

    /// <summary>
    /// Overwrites a node's free resources and job count (for example after the backend reported its real state).
    /// Free amounts are clamped to the capacity.
    /// </summary>
    public void SetFree(int node, NodeResources free, int jobCount)
    {
        if ((uint)node >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(node));
        _freeCpus[node] = Math.Clamp(free.Cpus, 0, _capCpus[node]);
        _freeMem[node] = Math.Clamp(free.MemoryMiB, 0, _capMem[node]);
        _freeGpus[node] = Math.Clamp(free.Gpus, 0, _capGpus[node]);
        _jobCount[node] = Math.Max(0, jobCount);
        if (_jobCount[node] == 0) _exclusive[node] = false;
        _index.MarkChanged(node);
        if (_buckets.IsBuilt) _buckets.Move(this, node);
        _cursors.Rewind(node);
        Generation++;
    }

    /// <summary>
    /// A deep copy of the nodes and their state (not the caches: the copy builds its own indexes on first use). Used
    /// for what-if work such as backfill reservations without touching the live snapshot.
    /// </summary>
    public ClusterSnapshot Clone()
    {
        var c = new ClusterSnapshot();
        c._features.AddRange(_features);
        c._partitions.AddRange(_partitions);
        c._gpuModels.AddRange(_gpuModels);
        foreach (var kv in _nodeIndex) c._nodeIndex.Add(kv.Key, kv.Value);
        c._names = (string[])_names.Clone();
        c._capCpus = (int[])_capCpus.Clone(); c._freeCpus = (int[])_freeCpus.Clone();
        c._capGpus = (int[])_capGpus.Clone(); c._freeGpus = (int[])_freeGpus.Clone();
        c._gpuModel = (int[])_gpuModel.Clone(); c._jobCount = (int[])_jobCount.Clone();
        c._capMem = (long[])_capMem.Clone(); c._freeMem = (long[])_freeMem.Clone();
        c._featureMask = (ulong[])_featureMask.Clone(); c._partitionMask = (ulong[])_partitionMask.Clone();
        c._schedulable = (bool[])_schedulable.Clone(); c._exclusive = (bool[])_exclusive.Clone();
        c.Count = Count;
        c.Generation = Generation;
        return c;
    }

    /// <summary>
    /// Makes this snapshot a copy of <paramref name="source"/> (nodes and state, like <see cref="Clone"/>) reusing its
    /// own arrays: a what-if scratch copy kept between scheduling cycles allocates nothing once warm, where a clone
    /// allocates its search structures afresh (the cursor table alone is about 600 KB). The threshold bitsets are copied
    /// when the source has them (a copy is cheaper than a rebuild), the state buckets rebuilt on next use, and every
    /// cursor goes back to the first node.
    /// </summary>
    internal void CopyFrom(ClusterSnapshot source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (ReferenceEquals(source, this)) return;
        int n = source.Count;
        if (_names.Length < n)
        {
            int len = source._names.Length;
            _names = new string[len];
            _capCpus = new int[len]; _freeCpus = new int[len]; _capGpus = new int[len]; _freeGpus = new int[len]; _gpuModel = new int[len]; _jobCount = new int[len];
            _capMem = new long[len]; _freeMem = new long[len];
            _featureMask = new ulong[len]; _partitionMask = new ulong[len];
            _schedulable = new bool[len]; _exclusive = new bool[len];
        }
        // Names, features, partitions and GPU models change only when nodes are added: copied once per source topology.
        if (!ReferenceEquals(_copiedFrom, source) || _copiedTopology != source._topology)
        {
            _features.Clear(); _features.AddRange(source._features);
            _partitions.Clear(); _partitions.AddRange(source._partitions);
            _gpuModels.Clear(); _gpuModels.AddRange(source._gpuModels);
            _nodeIndex.Clear();
            foreach (var kv in source._nodeIndex) _nodeIndex.Add(kv.Key, kv.Value);
            Array.Copy(source._names, _names, n);
            Array.Copy(source._capCpus, _capCpus, n); Array.Copy(source._capMem, _capMem, n); Array.Copy(source._capGpus, _capGpus, n);
            Array.Copy(source._gpuModel, _gpuModel, n);
            Array.Copy(source._featureMask, _featureMask, n); Array.Copy(source._partitionMask, _partitionMask, n);
            _copiedFrom = source;
            _copiedTopology = source._topology;
            _topology++;
        }
        Array.Copy(source._freeCpus, _freeCpus, n); Array.Copy(source._freeMem, _freeMem, n); Array.Copy(source._freeGpus, _freeGpus, n);
        Array.Copy(source._jobCount, _jobCount, n);
        Array.Copy(source._schedulable, _schedulable, n); Array.Copy(source._exclusive, _exclusive, n);
        Count = n;
        Generation = source.Generation;
        if (source._index.IsBuilt) _index.CopyFrom(source._index, source);
        else _index.Invalidate();
        _buckets.Invalidate();
        _cursors.Rewind(0);
    }

    /// <summary>Forgets every cached first-fit cursor (they are hints: searches stay correct without them).</summary>
    public void ResetCursors()
    {
        _cursors.Reset();
    }

    // =====================================================================================================

    // ---- searches


    /// <summary>
    /// The lowest node index at or after <paramref name="start"/> that fits <paramref name="request"/>, or -1.
    /// With <paramref name="avoidGpuNodes"/>, nodes that have GPUs are skipped. Allocation-free; uses the threshold
    /// bitsets but not the shape cursors.
    /// </summary>
    public int FindFirst(in PlacementRequest request, int start = 0, bool avoidGpuNodes = false)
    {
        if (start >= Count) return -1;
        _index.EnsureBuilt(this);
        return _index.Scan(this, request, Math.Max(0, start), avoidGpuNodes);
    }

    /// <summary>How many nodes fit <paramref name="request"/> now, counting up to <paramref name="max"/> (on the threshold bitsets).</summary>
    internal int CountFits(in PlacementRequest request, int max)
    {
        _index.EnsureBuilt(this);
        return _index.Count(this, request, max);
    }

    /// <summary>
    /// First fit: writes the <see cref="PlacementRequest.Nodes"/> lowest-indexed nodes that each fit the request to
    /// <paramref name="chosen"/> (all or nothing). Uses and advances the cursor kept for the request's shape, so
    /// repeated searches for one shape cost amortised O(nodes / 64) per cycle. Does not change the resources.
    /// </summary>
    public bool TryFindFirstFit(in PlacementRequest request, Span<int> chosen, bool avoidGpuNodes = false)
    {
        int need = Math.Max(1, request.Nodes);
        if (chosen.Length < need || need > Count) return false;
        _index.EnsureBuilt(this);
        ref int cursor = ref _cursors.Cursor(_cursors.GetShape(request, avoidGpuNodes));
        // one pass over the rows collects the whole gang
        int found = cursor < Count ? _index.ScanMany(this, request, cursor, avoidGpuNodes, chosen[..need]) : 0;
        cursor = found == 0 ? Count : chosen[0]; // nothing fits at or after the cursor, or the first fit moved on
        return found == need;
    }

    /// <summary>
    /// Best fit (<paramref name="spread"/> false: least capacity left after placing, as in bin packing) or spread
    /// (<paramref name="spread"/> true: most capacity left). Best fit scores a node with <see cref="PackingScore"/>, spread with <see cref="LeftoverScore"/>;
    /// ties go to the lowest node index. Gangs get the <see cref="PlacementRequest.Nodes"/> best nodes (all or nothing).
    /// </summary>
    public bool TryFindBestFit(in PlacementRequest request, Span<int> chosen, bool spread = false, bool avoidGpuNodes = false)
    {
        int need = Math.Max(1, request.Nodes);
        if (chosen.Length < need || need > Count) return false;
        if (need == 1)
        {
            // Features are not part of a bucket's class, so feature-constrained requests scan the threshold rows.
            int n = (request.RequiredFeatures | request.ForbiddenFeatures) == 0 ? _buckets.BestSingle(this, request, spread, avoidGpuNodes)
                : spread ? ScanBest(request, spread, avoidGpuNodes) : BestPackScan(request, avoidGpuNodes);
            if (n < 0) return false;
            chosen[0] = n;
            return true;
        }
        return BestGang(request, chosen[..need], spread, avoidGpuNodes);
    }

    /// <summary>
    /// The spread score of placing one node's share of <paramref name="request"/> on <paramref name="node"/>: the
    /// capacity left afterwards, each resource as a fraction of the node's capacity scaled to 1,000,000 and summed
    /// (CPU + memory + GPUs). Higher leaves more room. Integer arithmetic, so every implementation agrees exactly.
    /// </summary>
    public long LeftoverScore(int node, in PlacementRequest request) =>
        Score(_capCpus[node], _capMem[node], _capGpus[node], _freeCpus[node], _freeMem[node], _freeGpus[node], request);

    /// <summary>
    /// The best-fit (packing) score of placing one node's share of <paramref name="request"/> on <paramref name="node"/>;
    /// lower packs tighter. See <see cref="PackScore"/> for the rule.
    /// </summary>
    internal long PackingScore(int node, in PlacementRequest request) =>
        PackScore(_capCpus[node], _capMem[node], _capGpus[node], _freeCpus[node], _freeMem[node], _freeGpus[node], request);

    /// <summary>The penalty of opening an empty node: larger than any score of a node already in use.</summary>
    internal const long OpenPenalty = 4 * ScoreScale;

    /// <summary>
    /// The packing rule of best fit, normalised to each node's capacity: with <c>c</c>, <c>m</c>, <c>g</c> the CPU,
    /// memory and GPUs the node would have left, each as a fraction of that node's capacity (0 … 1,000,000; a resource
    /// the node lacks counts 0), a node in use scores <c>c + m + g + |c − m|</c> and an empty node
    /// <see cref="OpenPenalty"/> <c>+ g + (2,000,000 − c − m)</c>. So a node already in use always wins over opening an
    /// empty one; among used nodes the tightest wins, and the <c>|c − m|</c> term prefers nodes whose CPU and memory run
    /// out together rather than leaving cores stranded without memory (or memory without cores); when a node must be
    /// opened, the largest one (the job takes the smallest share of it) is opened, so few nodes carry the load. GPUs
    /// left on a GPU node count against it, so CPU-only jobs fill CPU nodes first. Every score is at least the CPU term
    /// <c>c</c>, which the bucketed search uses as a bound to stop early.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static long PackScore(int capCpu, long capMem, int capGpu, int freeCpu, long freeMem, int freeGpu, in PlacementRequest r)
    {
        long c = capCpu > 0 ? (freeCpu - (long)r.Cpus) * ScoreScale / capCpu : 0;
        long m = capMem > 0 ? (freeMem - r.MemoryMiB) * ScoreScale / capMem : 0;
        long g = capGpu > 0 ? (freeGpu - (long)r.Gpus) * ScoreScale / capGpu : 0;
        // Opening a node: the one the job fills least (the largest), so few nodes take the load; GPUs still count against.
        if (freeCpu == capCpu && freeMem == capMem && freeGpu == capGpu) return OpenPenalty + g + (2 * ScoreScale - c - m);
        return c + m + g + Math.Abs(c - m);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static long Score(int capCpu, long capMem, int capGpu, int freeCpu, long freeMem, int freeGpu, in PlacementRequest r)
    {
        long s = 0;
        if (capCpu > 0) s += (freeCpu - (long)r.Cpus) * ScoreScale / capCpu;
        if (capMem > 0) s += (freeMem - r.MemoryMiB) * ScoreScale / capMem;
        if (capGpu > 0) s += (freeGpu - (long)r.Gpus) * ScoreScale / capGpu;
        return s;
    }

    private int ScanBest(in PlacementRequest r, bool spread, bool avoidGpu)
    {
        _index.EnsureBuilt(this);
        int best = -1, at = 0;
        long bestScore = 0;
        while (at < Count)
        {
            int n = _index.Scan(this, r, at, avoidGpu);
            if (n < 0) break;
            at = n + 1;
            long s = spread ? -LeftoverScore(n, r) : PackingScore(n, r);
            if (best < 0 || s < bestScore) { best = n; bestScore = s; }
        }
        return best;
    }

    private int BestPackScan(in PlacementRequest r, bool avoidGpu)
    {
        _index.EnsureBuilt(this);
        return _index.BestPack(this, r, avoidGpu);
    }

    private bool BestGang(in PlacementRequest r, Span<int> chosen, bool spread, bool avoidGpu)
    {
        // Keep the `need` best (score, index) pairs in insertion-sorted order while scanning the fitting nodes.
        _index.EnsureBuilt(this);
        int need = chosen.Length, have = 0;
        Span<long> scores = need <= 128 ? stackalloc long[need] : new long[need];
        int at = 0;
        while (at < Count)
        {
            int n = _index.Scan(this, r, at, avoidGpu);
            if (n < 0) break;
            at = n + 1;
            long s = spread ? -LeftoverScore(n, r) : PackingScore(n, r);
            if (have == need && s >= scores[need - 1]) continue; // indexes ascend, so equal scores lose
            int pos = have < need ? have++ : need - 1;
            while (pos > 0 && scores[pos - 1] > s) { scores[pos] = scores[pos - 1]; chosen[pos] = chosen[pos - 1]; pos--; }
            scores[pos] = s; chosen[pos] = n;
        }
        return have == need;
    }

    // Up and not held by an exclusive job: the "accepts work" flag of the index and the buckets.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool AcceptsWork(int node) => _schedulable[node] && !_exclusive[node];

    private void Grow()
    {
        int n = _names.Length * 2;
        Array.Resize(ref _names, n);
        Array.Resize(ref _capCpus, n); Array.Resize(ref _freeCpus, n); Array.Resize(ref _capGpus, n); Array.Resize(ref _freeGpus, n);
        Array.Resize(ref _gpuModel, n); Array.Resize(ref _jobCount, n);
        Array.Resize(ref _capMem, n); Array.Resize(ref _freeMem, n);
        Array.Resize(ref _featureMask, n); Array.Resize(ref _partitionMask, n);
        Array.Resize(ref _schedulable, n); Array.Resize(ref _exclusive, n);
    }

    private static ulong Intern(List<string> names, IEnumerable<string> values, string what)
    {
        ulong mask = 0;
        foreach (string v in values)
        {
            int i = names.FindIndex(n => string.Equals(n, v, StringComparison.OrdinalIgnoreCase));
            if (i < 0)
            {
                if (names.Count == 64) throw new InvalidOperationException($"A snapshot supports at most 64 distinct {what} names.");
                names.Add(v);
                i = names.Count - 1;
            }
            mask |= 1UL << i;
        }
        return mask;
    }

    private static int InternId(List<string> names, string value)
    {
        int i = names.FindIndex(n => string.Equals(n, value, StringComparison.OrdinalIgnoreCase));
        if (i < 0) { names.Add(value); i = names.Count - 1; }
        return i + 1;
    }

    private static bool TryMask(List<string> names, IEnumerable<string> values, out ulong mask)
    {
        mask = 0;
        bool all = true;
        foreach (string v in values)
        {
            int i = names.FindIndex(n => string.Equals(n, v, StringComparison.OrdinalIgnoreCase));
            if (i < 0) all = false; else mask |= 1UL << i;
        }
        return all;
    }
}

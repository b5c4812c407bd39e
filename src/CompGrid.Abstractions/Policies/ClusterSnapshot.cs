using System.Numerics;
using System.Runtime.CompilerServices;

namespace CompGrid.Placement;

/// <summary>
/// The nodes a placement policy chooses from, laid out for speed: one dense index per node and one array per
/// resource (struct of arrays), features and partitions as bit masks. Policies read it and the engine updates it
/// incrementally with <see cref="Allocate"/> and <see cref="Release"/>. Not thread-safe.
/// </summary>
/// <remarks>
/// <para>
/// Besides the arrays the snapshot keeps, built lazily on the first search and then maintained on every change:
/// per-resource threshold bitsets (row <c>k</c> of the CPU index holds every node whose free CPUs, quantised, are at
/// least <c>k</c>; likewise memory and GPUs; plus rows for "accepts work", "idle" and "has no GPUs"), a per-shape
/// first-fit cursor (for a given request the first fitting node never moves left while capacity only shrinks; a
/// release moves the cursors back to the released node), and, for best-fit and spread, buckets of nodes in the same
/// state (same node class and the same free resources), so that a scored search looks at each distinct state once
/// instead of at every node. Searches allocate nothing once warm.
/// </para>
/// </remarks>
public sealed class ClusterSnapshot
{
    private const int MaxCpuLevels = 257, MaxMemLevels = 64, MaxGpuLevels = 17;
    private const int ShapeTableSize = 16384; // power of two; at most half used before the table is cleared
    private const long ScoreScale = 1_000_000;

    private readonly List<string> _features = [];
    private readonly List<string> _partitions = [];
    private readonly List<string> _gpuModels = [];
    private readonly Dictionary<string, int> _nodeIndex = new(StringComparer.Ordinal);
    private string[] _names = new string[16];
    private int[] _capCpus = new int[16], _freeCpus = new int[16], _capGpus = new int[16], _freeGpus = new int[16], _gpuModel = new int[16], _jobCount = new int[16];
    private long[] _capMem = new long[16], _freeMem = new long[16];
    private ulong[] _featureMask = new ulong[16], _partitionMask = new ulong[16];
    private bool[] _schedulable = new bool[16], _exclusive = new bool[16];

    // ---- threshold bitset index (valid when _indexed) ----
    private bool _indexed;
    private int _words;                 // 64-bit words per row
    private int _cpuShift, _gpuShift, _memShift;
    private int _cpuLevels, _memLevels, _gpuLevels;
    private ulong[] _cpuRows = [], _memRows = [], _gpuRows = [];
    private ulong[] _availRow = [], _idleRow = [], _noGpuRow = [];
    private ulong[] _featureRows = []; // 64 rows, one per feature bit

    // ---- shape cursors ----
    private readonly PlacementRequest[] _shapeKeys = new PlacementRequest[ShapeTableSize / 2];
    private readonly bool[] _shapeAvoid = new bool[ShapeTableSize / 2];
    private readonly int[] _shapeCursor = new int[ShapeTableSize / 2];
    private readonly int[] _shapeSlots = new int[ShapeTableSize]; // 0 = empty, else shape index + 1
    private int _shapeCount;

    // ---- state buckets for scored searches (valid when _bucketed) ----
    private bool _bucketed;
    private int[] _nodeClass = new int[16];
    private int[] _nodeBucket = new int[16];
    private NodeClass[] _classes = new NodeClass[8];
    private int _classCount;
    private Dictionary<NodeClass, int>? _classIndex;
    private BucketKey[] _bucketKeys = new BucketKey[64];
    private int[] _bucketCount = new int[64];
    private int[][] _bucketHeap = new int[64][];
    private int[] _bucketHeapSize = new int[64];
    private int[] _bucketNext = new int[64], _bucketPrev = new int[64];
    private int[] _classBase = [];
    private int[] _cpuHeads = [];
    private int _liveCount, _bucketTotal;
    private int[] _bucketSlots = new int[128];

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
    public int CachedShapeCount => _shapeCount;

    /// <summary>Number of distinct node states the scored searches look at (diagnostics; 0 until a scored search ran).</summary>
    public int DistinctNodeStates => _liveCount;

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
        _indexed = false;
        _bucketed = false;
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
        int oldCpu = _freeCpus[node], oldGpu = _freeGpus[node];
        long oldMem = _freeMem[node];
        _freeCpus[node] = oldCpu - request.Cpus; _freeMem[node] = oldMem - request.MemoryMiB; _freeGpus[node] = oldGpu - request.Gpus;
        _jobCount[node]++;
        if (request.Exclusive) _exclusive[node] = true;
        if (_indexed) UpdateIndex(node, oldCpu, oldMem, oldGpu);
        if (_bucketed) MoveToBucket(node);
        Generation++;
    }

    /// <summary>Takes one node's share of <paramref name="request"/> from each node in <paramref name="nodes"/> (a gang). Throws, changing nothing, when one does not fit.</summary>
    public void AllocateGang(ReadOnlySpan<int> nodes, in PlacementRequest request)
    {
        for (int k = 0; k < nodes.Length; k++)
        {
            if ((uint)nodes[k] >= (uint)Count || !Fits(nodes[k], request))
                throw new InvalidOperationException($"Node {((uint)nodes[k] < (uint)Count ? _names[nodes[k]] : "#" + nodes[k].ToString(System.Globalization.CultureInfo.InvariantCulture))} cannot take {request}.");
            for (int j = 0; j < k; j++)
                if (nodes[j] == nodes[k]) throw new InvalidOperationException($"Node '{_names[nodes[k]]}' appears twice in a gang.");
        }
        for (int k = 0; k < nodes.Length; k++) Allocate(nodes[k], request);
    }

    /// <summary>Gives back one node's share of <paramref name="request"/> to node <paramref name="node"/>.</summary>
    public void Release(int node, in PlacementRequest request)
    {
        if ((uint)node >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(node));
        int oldCpu = _freeCpus[node], oldGpu = _freeGpus[node];
        long oldMem = _freeMem[node];
        _freeCpus[node] = Math.Min(_capCpus[node], oldCpu + request.Cpus);
        _freeMem[node] = Math.Min(_capMem[node], oldMem + request.MemoryMiB);
        _freeGpus[node] = Math.Min(_capGpus[node], oldGpu + request.Gpus);
        if (_jobCount[node] > 0) _jobCount[node]--;
        if (request.Exclusive) _exclusive[node] = false;
        if (_indexed) UpdateIndex(node, oldCpu, oldMem, oldGpu);
        if (_bucketed) MoveToBucket(node);
        RewindCursors(node);
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
        if (_indexed) SetBit(_availRow, node, schedulable && !_exclusive[node]);
        if (_bucketed) MoveToBucket(node);
        if (schedulable) RewindCursors(node);
        Generation++;
    }

    /// <summary>
    /// Overwrites a node's free resources and job count (for example after the backend reported its real state).
    /// Free amounts are clamped to the capacity.
    /// </summary>
    public void SetFree(int node, NodeResources free, int jobCount)
    {
        if ((uint)node >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(node));
        int oldCpu = _freeCpus[node], oldGpu = _freeGpus[node];
        long oldMem = _freeMem[node];
        _freeCpus[node] = Math.Clamp(free.Cpus, 0, _capCpus[node]);
        _freeMem[node] = Math.Clamp(free.MemoryMiB, 0, _capMem[node]);
        _freeGpus[node] = Math.Clamp(free.Gpus, 0, _capGpus[node]);
        _jobCount[node] = Math.Max(0, jobCount);
        if (_jobCount[node] == 0) _exclusive[node] = false;
        if (_indexed) UpdateIndex(node, oldCpu, oldMem, oldGpu);
        if (_bucketed) MoveToBucket(node);
        RewindCursors(node);
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
        int n = _names.Length;
        c._names = (string[])_names.Clone();
        c._capCpus = (int[])_capCpus.Clone(); c._freeCpus = (int[])_freeCpus.Clone();
        c._capGpus = (int[])_capGpus.Clone(); c._freeGpus = (int[])_freeGpus.Clone();
        c._gpuModel = (int[])_gpuModel.Clone(); c._jobCount = (int[])_jobCount.Clone();
        c._capMem = (long[])_capMem.Clone(); c._freeMem = (long[])_freeMem.Clone();
        c._featureMask = (ulong[])_featureMask.Clone(); c._partitionMask = (ulong[])_partitionMask.Clone();
        c._schedulable = (bool[])_schedulable.Clone(); c._exclusive = (bool[])_exclusive.Clone();
        c._nodeClass = new int[n]; c._nodeBucket = new int[n];
        c.Count = Count;
        c.Generation = Generation;
        return c;
    }

    /// <summary>Forgets every cached first-fit cursor (they are hints: searches stay correct without them).</summary>
    public void ResetCursors()
    {
        Array.Clear(_shapeSlots);
        _shapeCount = 0;
    }

    // =====================================================================================================
    // Searches
    // =====================================================================================================

    /// <summary>
    /// The lowest node index at or after <paramref name="start"/> that fits <paramref name="request"/>, or -1.
    /// With <paramref name="avoidGpuNodes"/>, nodes that have GPUs are skipped. Allocation-free; uses the threshold
    /// bitsets but not the shape cursors.
    /// </summary>
    public int FindFirst(in PlacementRequest request, int start = 0, bool avoidGpuNodes = false)
    {
        if (start >= Count) return -1;
        EnsureIndex();
        return Scan(request, Math.Max(0, start), avoidGpuNodes);
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
        EnsureIndex();
        int shape = GetShape(request, avoidGpuNodes);
        int cursor = _shapeCursor[shape];
        int found = 0, at = cursor;
        while (found < need)
        {
            int n = at < Count ? Scan(request, at, avoidGpuNodes) : -1;
            if (n < 0)
            {
                if (found == 0) _shapeCursor[shape] = Count; // nothing fits at or after the cursor
                return false;
            }
            if (found == 0) _shapeCursor[shape] = n;
            chosen[found++] = n;
            at = n + 1;
        }
        return true;
    }

    /// <summary>
    /// Best fit (<paramref name="spread"/> false: least capacity left after placing, as in bin packing) or spread
    /// (<paramref name="spread"/> true: most capacity left). The score of a node is <see cref="LeftoverScore"/>;
    /// ties go to the lowest node index. Gangs get the <see cref="PlacementRequest.Nodes"/> best nodes (all or nothing).
    /// </summary>
    public bool TryFindBestFit(in PlacementRequest request, Span<int> chosen, bool spread = false, bool avoidGpuNodes = false)
    {
        int need = Math.Max(1, request.Nodes);
        if (chosen.Length < need || need > Count) return false;
        if (need == 1)
        {
            int n = BestSingle(request, spread, avoidGpuNodes);
            if (n < 0) return false;
            chosen[0] = n;
            return true;
        }
        return BestGang(request, chosen[..need], spread, avoidGpuNodes);
    }

    /// <summary>
    /// The best-fit score of placing one node's share of <paramref name="request"/> on <paramref name="node"/>: the
    /// capacity left afterwards, each resource as a fraction of the node's capacity scaled to 1,000,000 and summed
    /// (CPU + memory + GPUs). Lower is a tighter fit. Integer arithmetic, so every implementation agrees exactly.
    /// </summary>
    public long LeftoverScore(int node, in PlacementRequest request) =>
        Score(_capCpus[node], _capMem[node], _capGpus[node], _freeCpus[node], _freeMem[node], _freeGpus[node], request);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Score(int capCpu, long capMem, int capGpu, int freeCpu, long freeMem, int freeGpu, in PlacementRequest r)
    {
        long s = 0;
        if (capCpu > 0) s += (freeCpu - (long)r.Cpus) * ScoreScale / capCpu;
        if (capMem > 0) s += (freeMem - r.MemoryMiB) * ScoreScale / capMem;
        if (capGpu > 0) s += (freeGpu - (long)r.Gpus) * ScoreScale / capGpu;
        return s;
    }

    private int Scan(in PlacementRequest request, int start, bool avoidGpu)
    {
        int w = _words;
        int cpuOff = Level(request.Cpus, _cpuShift, _cpuLevels) * w;
        int memOff = MemLevel(request.MemoryMiB) * w;
        int gpuOff = Level(request.Gpus, _gpuShift, _gpuLevels) * w;
        if (cpuOff < 0 || memOff < 0 || gpuOff < 0) return -1; // more than any node has
        ReadOnlySpan<ulong> cpu = _cpuRows.AsSpan(cpuOff, w), mem = _memRows.AsSpan(memOff, w), gpu = _gpuRows.AsSpan(gpuOff, w);
        ReadOnlySpan<ulong> avail = _availRow;
        // Extra rows ANDed in: idle nodes for exclusive jobs, nodes without GPUs, the first two required features,
        // the complement of the first forbidden feature. Anything else is verified per candidate.
        ReadOnlySpan<ulong> x1 = request.Exclusive ? _idleRow : default, x2 = avoidGpu ? _noGpuRow : default;
        ulong req = request.RequiredFeatures;
        ReadOnlySpan<ulong> f1 = req != 0 ? FeatureRow(BitOperations.TrailingZeroCount(req)) : default;
        req &= req - 1;
        ReadOnlySpan<ulong> f2 = req != 0 ? FeatureRow(BitOperations.TrailingZeroCount(req)) : default;
        ReadOnlySpan<ulong> nf = request.ForbiddenFeatures != 0 ? FeatureRow(BitOperations.TrailingZeroCount(request.ForbiddenFeatures)) : default;
        bool extra = !x1.IsEmpty || !x2.IsEmpty || !f1.IsEmpty || !nf.IsEmpty;
        int wi = start >> 6;
        ulong first = ~0UL << (start & 63);
        for (; wi < w; wi++)
        {
            ulong bits = cpu[wi] & mem[wi] & gpu[wi] & avail[wi] & first;
            first = ~0UL;
            if (bits == 0) continue;
            if (extra)
            {
                if (!x1.IsEmpty) bits &= x1[wi];
                if (!x2.IsEmpty) bits &= x2[wi];
                if (!f1.IsEmpty) bits &= f1[wi];
                if (!f2.IsEmpty) bits &= f2[wi];
                if (!nf.IsEmpty) bits &= ~nf[wi];
            }
            while (bits != 0)
            {
                int node = (wi << 6) + BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
                if (_freeCpus[node] >= request.Cpus && _freeMem[node] >= request.MemoryMiB && _freeGpus[node] >= request.Gpus
                    && MatchesStatic(node, request))
                    return node;
            }
        }
        return -1;
    }

    private ReadOnlySpan<ulong> FeatureRow(int feature) => _featureRows.AsSpan(feature * _words, _words);

    // -1 when the amount exceeds the top level (no node can have it).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Level(long amount, int shift, int levels)
    {
        if (amount <= 0) return 0;
        long l = amount >> shift;
        return l >= levels ? -1 : (int)l;
    }

    private int MemLevel(long amount) => Level(amount, _memShift, _memLevels);

    private int GetShape(in PlacementRequest request, bool avoid)
    {
        int h = ShapeHash(request, avoid) & (ShapeTableSize - 1);
        while (true)
        {
            int slot = _shapeSlots[h];
            if (slot == 0) break;
            int s = slot - 1;
            if (_shapeAvoid[s] == avoid && SameShape(_shapeKeys[s], request)) return s;
            h = (h + 1) & (ShapeTableSize - 1);
        }
        if (_shapeCount == _shapeKeys.Length)
        {
            ResetCursors();
            return GetShape(request, avoid);
        }
        int id = _shapeCount++;
        _shapeKeys[id] = request;
        _shapeAvoid[id] = avoid;
        _shapeCursor[id] = 0;
        _shapeSlots[h] = id + 1;
        return id;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ShapeHash(in PlacementRequest r, bool avoid)
    {
        ulong h = (ulong)r.Cpus * 0x9E3779B97F4A7C15UL ^ (ulong)r.MemoryMiB * 0xC2B2AE3D27D4EB4FUL ^ ((ulong)r.Gpus << 40) ^ ((ulong)r.Nodes << 20)
            ^ r.RequiredFeatures * 0x165667B19E3779F9UL ^ r.ForbiddenFeatures * 0x27D4EB2F165667C5UL ^ r.PartitionMask * 0x94D049BB133111EBUL
            ^ ((ulong)r.GpuModel << 52) ^ (r.Exclusive ? 1UL << 63 : 0) ^ (avoid ? 1UL << 62 : 0);
        h ^= h >> 31;
        h *= 0xBF58476D1CE4E5B9UL;
        h ^= h >> 29;
        return (int)h;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool SameShape(in PlacementRequest a, in PlacementRequest b) =>
        a.Cpus == b.Cpus && a.MemoryMiB == b.MemoryMiB && a.Gpus == b.Gpus && a.Nodes == b.Nodes && a.RequiredFeatures == b.RequiredFeatures
        && a.ForbiddenFeatures == b.ForbiddenFeatures && a.PartitionMask == b.PartitionMask && a.GpuModel == b.GpuModel && a.Exclusive == b.Exclusive;

    private void RewindCursors(int node)
    {
        int[] c = _shapeCursor;
        for (int s = 0; s < _shapeCount; s++)
            if (c[s] > node) c[s] = node;
    }

    // =====================================================================================================
    // Threshold bitset index
    // =====================================================================================================

    private void EnsureIndex()
    {
        if (_indexed) return;
        int n = Count;
        _words = Math.Max(1, (n + 63) >> 6);
        int maxCpu = 0, maxGpu = 0;
        long maxMem = 0;
        for (int i = 0; i < n; i++)
        {
            maxCpu = Math.Max(maxCpu, _capCpus[i]);
            maxGpu = Math.Max(maxGpu, _capGpus[i]);
            maxMem = Math.Max(maxMem, _capMem[i]);
        }
        _cpuShift = ShiftFor(maxCpu, MaxCpuLevels);
        _gpuShift = ShiftFor(maxGpu, MaxGpuLevels);
        _memShift = ShiftFor(maxMem, MaxMemLevels);
        _cpuLevels = (int)(maxCpu >> _cpuShift) + 1;
        _gpuLevels = (int)(maxGpu >> _gpuShift) + 1;
        _memLevels = (int)(maxMem >> _memShift) + 1;
        _cpuRows = new ulong[_cpuLevels * _words];
        _memRows = new ulong[_memLevels * _words];
        _gpuRows = new ulong[_gpuLevels * _words];
        _availRow = new ulong[_words];
        _idleRow = new ulong[_words];
        _noGpuRow = new ulong[_words];
        _featureRows = new ulong[64 * _words];
        for (int i = 0; i < n; i++)
        {
            ulong bit = 1UL << (i & 63);
            int wi = i >> 6;
            for (int l = (int)(_freeCpus[i] >> _cpuShift); l >= 0; l--) _cpuRows[l * _words + wi] |= bit;
            for (int l = (int)(_freeMem[i] >> _memShift); l >= 0; l--) _memRows[l * _words + wi] |= bit;
            for (int l = (int)(_freeGpus[i] >> _gpuShift); l >= 0; l--) _gpuRows[l * _words + wi] |= bit;
            if (_schedulable[i] && !_exclusive[i]) _availRow[wi] |= bit;
            if (_jobCount[i] == 0) _idleRow[wi] |= bit;
            if (_capGpus[i] == 0) _noGpuRow[wi] |= bit;
            for (ulong f = _featureMask[i]; f != 0; f &= f - 1) _featureRows[BitOperations.TrailingZeroCount(f) * _words + wi] |= bit;
        }
        _indexed = true;
    }

    private static int ShiftFor(long max, int levels)
    {
        int shift = 0;
        while ((max >> shift) >= levels) shift++;
        return shift;
    }

    private void UpdateIndex(int node, int oldCpu, long oldMem, int oldGpu)
    {
        int w = _words, wi = node >> 6;
        ulong bit = 1UL << (node & 63);
        UpdateRows(_cpuRows, w, wi, bit, oldCpu >> _cpuShift, _freeCpus[node] >> _cpuShift);
        UpdateRows(_memRows, w, wi, bit, (int)(oldMem >> _memShift), (int)(_freeMem[node] >> _memShift));
        UpdateRows(_gpuRows, w, wi, bit, oldGpu >> _gpuShift, _freeGpus[node] >> _gpuShift);
        SetBit(_availRow, node, _schedulable[node] && !_exclusive[node]);
        SetBit(_idleRow, node, _jobCount[node] == 0);
    }

    private static void UpdateRows(ulong[] rows, int w, int wi, ulong bit, int oldLevel, int newLevel)
    {
        if (newLevel < oldLevel)
            for (int l = newLevel + 1; l <= oldLevel; l++) rows[l * w + wi] &= ~bit;
        else
            for (int l = oldLevel + 1; l <= newLevel; l++) rows[l * w + wi] |= bit;
    }

    private static void SetBit(ulong[] row, int node, bool value)
    {
        if (value) row[node >> 6] |= 1UL << (node & 63);
        else row[node >> 6] &= ~(1UL << (node & 63));
    }

    // =====================================================================================================
    // State buckets (best fit, spread)
    // =====================================================================================================

    // A node class: what a scored search checks once per class instead of once per node (features are checked by the
    // bitset scan instead, so that nodes with different labels still share buckets).
    private readonly record struct NodeClass(int CapCpus, long CapMem, int CapGpus, ulong Partitions, int GpuModel);

    private readonly record struct BucketKey(int Class, int FreeCpus, long FreeMem, int FreeGpus, byte Flags);

    private BucketKey KeyOf(int node) => new(_nodeClass[node], _freeCpus[node], _freeMem[node], _freeGpus[node],
        (byte)((_schedulable[node] && !_exclusive[node] ? 1 : 0) | (_jobCount[node] == 0 ? 2 : 0)));

    private void EnsureBuckets()
    {
        if (_bucketed) return;
        _classIndex ??= [];
        _classIndex.Clear();
        _classCount = 0;
        if (_nodeClass.Length < _names.Length) { _nodeClass = new int[_names.Length]; _nodeBucket = new int[_names.Length]; }
        for (int i = 0; i < Count; i++)
        {
            var c = new NodeClass(_capCpus[i], _capMem[i], _capGpus[i], _partitionMask[i], _gpuModel[i]);
            if (!_classIndex.TryGetValue(c, out int id))
            {
                id = _classCount++;
                if (id == _classes.Length) Array.Resize(ref _classes, id * 2);
                _classes[id] = c;
                _classIndex[c] = id;
            }
            _nodeClass[i] = id;
        }
        // one list of live buckets per (class, free CPUs), so best fit visits the tightest CPU levels first
        if (_classBase.Length < _classCount + 1) _classBase = new int[_classCount + 1];
        int total = 0;
        for (int k = 0; k < _classCount; k++) { _classBase[k] = total; total += _classes[k].CapCpus + 1; }
        _classBase[_classCount] = total;
        _cpuHeads = new int[total];
        Array.Fill(_cpuHeads, -1);
        _bucketTotal = 0;
        _liveCount = 0;
        Array.Clear(_bucketSlots);
        for (int i = 0; i < Count; i++) { _nodeBucket[i] = -1; AddToBucket(i, BucketFor(KeyOf(i))); }
        _bucketed = true;
    }

    private int BucketFor(in BucketKey key)
    {
        int mask = _bucketSlots.Length - 1;
        int h = key.GetHashCode() & mask;
        while (true)
        {
            int slot = _bucketSlots[h];
            if (slot == 0) break;
            if (_bucketKeys[slot - 1].Equals(key)) return slot - 1;
            h = (h + 1) & mask;
        }
        if ((_bucketTotal + 1) * 2 > _bucketSlots.Length)
        {
            GrowBucketSlots();
            return BucketFor(key);
        }
        int id = _bucketTotal++;
        if (id == _bucketKeys.Length)
        {
            int n = id * 2;
            Array.Resize(ref _bucketKeys, n); Array.Resize(ref _bucketCount, n); Array.Resize(ref _bucketHeap, n);
            Array.Resize(ref _bucketHeapSize, n); Array.Resize(ref _bucketNext, n); Array.Resize(ref _bucketPrev, n);
        }
        _bucketKeys[id] = key;
        _bucketCount[id] = 0;
        _bucketHeap[id] ??= new int[4];
        _bucketHeapSize[id] = 0;
        _bucketNext[id] = _bucketPrev[id] = -1;
        _bucketSlots[h] = id + 1;
        return id;
    }

    private void GrowBucketSlots()
    {
        _bucketSlots = new int[_bucketSlots.Length * 2];
        int mask = _bucketSlots.Length - 1;
        for (int b = 0; b < _bucketTotal; b++)
        {
            int h = _bucketKeys[b].GetHashCode() & mask;
            while (_bucketSlots[h] != 0) h = (h + 1) & mask;
            _bucketSlots[h] = b + 1;
        }
    }

    private void MoveToBucket(int node)
    {
        int b = BucketFor(KeyOf(node));
        int old = _nodeBucket[node];
        if (old == b) return;
        if (old >= 0 && --_bucketCount[old] == 0)
        {
            // unlink from its (class, free CPUs) list and empty its heap
            int prev = _bucketPrev[old], next = _bucketNext[old];
            if (prev >= 0) _bucketNext[prev] = next;
            else _cpuHeads[_classBase[_bucketKeys[old].Class] + _bucketKeys[old].FreeCpus] = next;
            if (next >= 0) _bucketPrev[next] = prev;
            _bucketHeapSize[old] = 0;
            _liveCount--;
        }
        AddToBucket(node, b);
    }

    private void AddToBucket(int node, int b)
    {
        _nodeBucket[node] = b;
        if (_bucketCount[b]++ == 0)
        {
            int head = _classBase[_bucketKeys[b].Class] + _bucketKeys[b].FreeCpus;
            int first = _cpuHeads[head];
            _bucketNext[b] = first;
            _bucketPrev[b] = -1;
            if (first >= 0) _bucketPrev[first] = b;
            _cpuHeads[head] = b;
            _liveCount++;
        }
        // lazy min-heap of node indexes: entries whose node has since left the bucket are dropped when they surface
        int size = _bucketHeapSize[b];
        if (size > 2 * _bucketCount[b] + 8) size = CompactHeap(b);
        int[] heap = _bucketHeap[b];
        if (size == heap.Length) { Array.Resize(ref heap, size * 2); _bucketHeap[b] = heap; }
        int i = size++;
        heap[i] = node;
        while (i > 0)
        {
            int p = (i - 1) >> 1;
            if (heap[p] <= heap[i]) break;
            (heap[p], heap[i]) = (heap[i], heap[p]);
            i = p;
        }
        _bucketHeapSize[b] = size;
    }

    private int CompactHeap(int b)
    {
        int[] heap = _bucketHeap[b];
        int size = _bucketHeapSize[b], k = 0;
        for (int i = 0; i < size; i++)
            if (_nodeBucket[heap[i]] == b) heap[k++] = heap[i];
        Array.Sort(heap, 0, k);
        int u = 0;
        for (int i = 0; i < k; i++)
            if (u == 0 || heap[u - 1] != heap[i]) heap[u++] = heap[i];
        _bucketHeapSize[b] = u;
        return u; // a sorted array is a valid min-heap
    }

    private int BucketMin(int b)
    {
        int[] heap = _bucketHeap[b];
        int size = _bucketHeapSize[b];
        while (size > 0 && _nodeBucket[heap[0]] != b)
        {
            heap[0] = heap[--size];
            int i = 0;
            while (true)
            {
                int l = 2 * i + 1, r = l + 1, m = i;
                if (l < size && heap[l] < heap[m]) m = l;
                if (r < size && heap[r] < heap[m]) m = r;
                if (m == i) break;
                (heap[m], heap[i]) = (heap[i], heap[m]);
                i = m;
            }
        }
        _bucketHeapSize[b] = size;
        return size > 0 ? heap[0] : -1;
    }

    private int BestSingle(in PlacementRequest r, bool spread, bool avoidGpu)
    {
        if ((r.RequiredFeatures | r.ForbiddenFeatures) != 0) return ScanBest(r, spread, avoidGpu);
        EnsureBuckets();
        int best = -1;
        long bestScore = 0;
        for (int k = 0; k < _classCount; k++)
        {
            ref readonly NodeClass c = ref _classes[k];
            if (c.CapCpus < r.Cpus || c.CapMem < r.MemoryMiB || c.CapGpus < r.Gpus || (avoidGpu && c.CapGpus > 0)
                || (r.PartitionMask != 0 && (c.Partitions & r.PartitionMask) == 0) || (r.GpuModel != 0 && c.GpuModel != r.GpuModel))
                continue;
            int baseIdx = _classBase[k];
            long otherMax = (c.CapMem > 0 ? ScoreScale : 0) + (c.CapGpus > 0 ? ScoreScale : 0);
            for (int step = 0; step <= c.CapCpus - Math.Max(0, r.Cpus); step++)
            {
                int f = spread ? c.CapCpus - step : Math.Max(0, r.Cpus) + step;
                long cpuLeft = c.CapCpus > 0 ? (f - (long)r.Cpus) * ScoreScale / c.CapCpus : 0;
                if (best >= 0)
                {
                    // bounds: best fit scores at least the CPU left; spread (negated) at least -(CPU left + the rest at most)
                    if (!spread && cpuLeft > bestScore) break;
                    if (spread && -(cpuLeft + otherMax) > bestScore) break;
                }
                for (int b = _cpuHeads[baseIdx + f]; b >= 0; b = _bucketNext[b])
                {
                    ref readonly BucketKey key = ref _bucketKeys[b];
                    if ((key.Flags & 1) == 0 || (r.Exclusive && (key.Flags & 2) == 0)) continue;
                    if (key.FreeMem < r.MemoryMiB || key.FreeGpus < r.Gpus) continue;
                    long s = Score(c.CapCpus, c.CapMem, c.CapGpus, key.FreeCpus, key.FreeMem, key.FreeGpus, r);
                    if (spread) s = -s;
                    if (best >= 0 && s > bestScore) continue;
                    int n = BucketMin(b);
                    if (best < 0 || s < bestScore || n < best) { best = n; bestScore = s; }
                }
            }
        }
        return best;
    }

    private int ScanBest(in PlacementRequest r, bool spread, bool avoidGpu)
    {
        EnsureIndex();
        int best = -1, at = 0;
        long bestScore = 0;
        while (at < Count)
        {
            int n = Scan(r, at, avoidGpu);
            if (n < 0) break;
            at = n + 1;
            long s = LeftoverScore(n, r);
            if (spread) s = -s;
            if (best < 0 || s < bestScore) { best = n; bestScore = s; }
        }
        return best;
    }

    private bool BestGang(in PlacementRequest r, Span<int> chosen, bool spread, bool avoidGpu)
    {
        // Keep the `need` best (score, index) pairs in insertion-sorted order while scanning the fitting nodes.
        EnsureIndex();
        int need = chosen.Length, have = 0;
        Span<long> scores = need <= 128 ? stackalloc long[need] : new long[need];
        int at = 0;
        while (at < Count)
        {
            int n = Scan(r, at, avoidGpu);
            if (n < 0) break;
            at = n + 1;
            long s = LeftoverScore(n, r);
            if (spread) s = -s;
            if (have == need && s >= scores[need - 1]) continue; // indexes ascend, so equal scores lose
            int pos = have < need ? have++ : need - 1;
            while (pos > 0 && scores[pos - 1] > s) { scores[pos] = scores[pos - 1]; chosen[pos] = chosen[pos - 1]; pos--; }
            scores[pos] = s; chosen[pos] = n;
        }
        return have == need;
    }

    // =====================================================================================================

    private void Grow()
    {
        int n = _names.Length * 2;
        Array.Resize(ref _names, n);
        Array.Resize(ref _capCpus, n); Array.Resize(ref _freeCpus, n); Array.Resize(ref _capGpus, n); Array.Resize(ref _freeGpus, n);
        Array.Resize(ref _gpuModel, n); Array.Resize(ref _jobCount, n);
        Array.Resize(ref _capMem, n); Array.Resize(ref _freeMem, n);
        Array.Resize(ref _featureMask, n); Array.Resize(ref _partitionMask, n);
        Array.Resize(ref _schedulable, n); Array.Resize(ref _exclusive, n);
        Array.Resize(ref _nodeClass, n); Array.Resize(ref _nodeBucket, n);
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

/// <summary>One job's placement request against a <see cref="ClusterSnapshot"/>: per-node amounts, node count and constraint masks.</summary>
public readonly record struct PlacementRequest(
    int Cpus, long MemoryMiB, int Gpus, int Nodes,
    ulong RequiredFeatures = 0, ulong ForbiddenFeatures = 0, ulong PartitionMask = 0, int GpuModel = 0, bool Exclusive = false);

/// <summary>
/// Chooses node(s) for a job. Named and selected by configuration (an unknown name fails start-up).
/// Implementations must not allocate on the hot path.
/// </summary>
public interface IPlacementPolicy
{
    /// <summary>The policy's registered name (for example <c>first-fit</c>).</summary>
    string Name { get; }

    /// <summary>
    /// Chooses <see cref="PlacementRequest.Nodes"/> distinct nodes that each fit the request, writing their indexes to
    /// <paramref name="chosen"/> (all or nothing). Does not change the snapshot. Returns <see langword="false"/> when the job does not fit now.
    /// </summary>
    bool TryPlace(ClusterSnapshot cluster, in PlacementRequest request, Span<int> chosen);
}

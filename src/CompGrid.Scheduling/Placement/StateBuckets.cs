using System.Numerics;

namespace CompGrid.Placement;

/// <summary>
/// Buckets of a <see cref="ClusterSnapshot"/>'s nodes in the same state — same node class (capacity, partitions, GPU
/// model) and the same free resources and flags — so that a best-fit or spread search scores each distinct state once
/// instead of every node. Live buckets are linked per (class, free CPUs), so best fit visits the tightest CPU levels
/// first and stops at a bound; each bucket keeps its nodes in a min-heap of node indexes for the lowest-index tie break.
/// Built lazily, then kept current on every change. Features are not part of a class (they are checked by the
/// threshold scan instead), so requests with feature constraints do not use the buckets. Not thread-safe.
/// <para>
/// Nothing is allocated per placement: the arrays are sized for one bucket per node when built (a node is in one
/// bucket, so no more are ever live), a bucket that empties leaves the hash table and its id is reused, and the heaps
/// are intrusive pairing heaps whose links live in three per-node arrays (a node is in exactly one heap), so no bucket,
/// however large it grows, needs storage of its own. A node leaving a bucket is cut out of its heap exactly, so the
/// minimum is always the heap's root.
/// </para>
/// </summary>
internal sealed class StateBuckets
{
    // What a scored search checks once per class instead of once per node.
    private readonly record struct NodeClass(int CapCpus, long CapMem, int CapGpus, ulong Partitions, int GpuModel);

    private readonly record struct BucketKey(int Class, int FreeCpus, long FreeMem, int FreeGpus, byte Flags);

    private int[] _nodeClass = new int[16];
    private int[] _nodeBucket = new int[16];
    private NodeClass[] _classes = new NodeClass[8];
    private int _classCount;
    private Dictionary<NodeClass, int>? _classIndex;
    private BucketKey[] _bucketKeys = new BucketKey[64];
    private int[] _bucketCount = new int[64];
    private int[] _heapRoot = new int[64];
    // pairing-heap links per node: first child, next sibling, and the previous sibling or (for a first child) the parent
    private int[] _child = new int[16], _sibling = new int[16], _prev = new int[16];
    private int[] _freeIds = new int[64];
    private int _freeCount;
    private int[] _bucketNext = new int[64], _bucketPrev = new int[64];
    private int[] _classBase = [];
    private int[] _cpuHeads = [];
    // one bit per (class, free CPUs) list that holds a live bucket, so a search skips the empty levels a word at a time
    private ulong[] _levelBits = [];
    private int _bucketTotal;
    private int[] _bucketSlots = new int[128];

    /// <summary>Whether the buckets describe the snapshot (false after a node was added).</summary>
    public bool IsBuilt { get; private set; }

    /// <summary>Number of distinct node states (live buckets).</summary>
    public int LiveCount { get; private set; }

    /// <summary>Marks the buckets stale; the next scored search rebuilds them.</summary>
    public void Invalidate() => IsBuilt = false;

    /// <summary>Builds the classes and buckets from the snapshot's current state, when stale.</summary>
    public void EnsureBuilt(ClusterSnapshot s)
    {
        if (IsBuilt) return;
        int count = s.Count;
        ReadOnlySpan<int> capCpus = s.CapacityCpus, capGpus = s.CapacityGpus, gpuModels = s.GpuModels;
        ReadOnlySpan<long> capMem = s.CapacityMemoryMiB;
        ReadOnlySpan<ulong> partitions = s.PartitionMasks;
        _classIndex ??= [];
        _classIndex.Clear();
        _classCount = 0;
        if (_nodeClass.Length < count)
        {
            _nodeClass = new int[count]; _nodeBucket = new int[count];
            _child = new int[count]; _sibling = new int[count]; _prev = new int[count];
        }
        for (int i = 0; i < count; i++)
        {
            var c = new NodeClass(capCpus[i], capMem[i], capGpus[i], partitions[i], gpuModels[i]);
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
        _levelBits = new ulong[(total + 63) >> 6];
        _bucketTotal = 0;
        _freeCount = 0;
        LiveCount = 0;
        // One bucket per node at most is live (plus the one a moving node enters before it leaves its old one).
        int capacity = count + 64;
        if (_bucketKeys.Length < capacity)
        {
            _bucketKeys = new BucketKey[capacity]; _bucketCount = new int[capacity]; _heapRoot = new int[capacity];
            _bucketNext = new int[capacity]; _bucketPrev = new int[capacity]; _freeIds = new int[capacity];
        }
        int slots = 128;
        while (slots < 4 * _bucketKeys.Length) slots *= 2;
        if (_bucketSlots.Length < slots) _bucketSlots = new int[slots];
        else Array.Clear(_bucketSlots);
        for (int i = 0; i < count; i++) { _nodeBucket[i] = -1; AddToBucket(i, BucketFor(KeyOf(s, i))); }
        IsBuilt = true;
    }

    /// <summary>Moves a node to the bucket of its current state.</summary>
    public void Move(ClusterSnapshot s, int node)
    {
        int b = BucketFor(KeyOf(s, node));
        int old = _nodeBucket[node];
        if (old == b) return;
        if (old >= 0) RemoveFromHeap(old, node);
        if (old >= 0 && --_bucketCount[old] == 0)
        {
            // unlink from its (class, free CPUs) list and empty its heap
            int prev = _bucketPrev[old], next = _bucketNext[old];
            if (prev >= 0) _bucketNext[prev] = next;
            else
            {
                int head = _classBase[_bucketKeys[old].Class] + _bucketKeys[old].FreeCpus;
                _cpuHeads[head] = next;
                if (next < 0) _levelBits[head >> 6] &= ~(1UL << (head & 63));
            }
            if (next >= 0) _bucketPrev[next] = prev;
            LiveCount--;
            RemoveFromHash(old);
            if (_freeCount == _freeIds.Length) Array.Resize(ref _freeIds, _freeCount * 2);
            _freeIds[_freeCount++] = old;
        }
        AddToBucket(node, b);
    }

    /// <summary>
    /// The best single node for a request without feature constraints: the lowest <see cref="ClusterSnapshot.PackingScore"/>
    /// (or, with <paramref name="spread"/>, the highest <see cref="ClusterSnapshot.LeftoverScore"/>), ties to the lowest
    /// index; -1 when none fits.
    /// </summary>
    public int BestSingle(ClusterSnapshot s, in PlacementRequest r, bool spread, bool avoidGpu)
    {
        EnsureBuilt(s);
        int best = -1;
        long bestScore = 0;
        long memBound = long.MaxValue; // best fit, once a node in use is the best (score B): B / 2 + 1
        for (int k = 0; k < _classCount; k++)
        {
            ref readonly NodeClass c = ref _classes[k];
            if (c.CapCpus < r.Cpus || c.CapMem < r.MemoryMiB || c.CapGpus < r.Gpus || (avoidGpu && c.CapGpus > 0)
                || (r.PartitionMask != 0 && (c.Partitions & r.PartitionMask) == 0) || (r.GpuModel != 0 && c.GpuModel != r.GpuModel))
                continue;
            int baseIdx = _classBase[k];
            long otherMax = (c.CapMem > 0 ? ClusterSnapshot.ScoreScale : 0) + (c.CapGpus > 0 ? ClusterSnapshot.ScoreScale : 0);
            int lo = Math.Max(0, r.Cpus);
            for (int at = spread ? c.CapCpus : lo; ; at = spread ? at - 1 : at + 1)
            {
                // the next (class, free CPUs) level with a live bucket, tightest first (loosest first for spread)
                int h = spread ? PrevLevel(baseIdx + at, baseIdx + lo) : NextLevel(baseIdx + at, baseIdx + c.CapCpus);
                if (h < 0) break;
                int f = at = h - baseIdx;
                long cpuLeft = c.CapCpus > 0 ? (f - (long)r.Cpus) * ClusterSnapshot.ScoreScale / c.CapCpus : 0;
                if (best >= 0)
                {
                    // bounds: best fit scores at least the CPU left, and a node in use at least twice the CPU left
                    // (c + m + |c - m| = 2 max(c, m)) while an empty one scores above every node in use; spread
                    // (negated) at least -(CPU left + the rest at most)
                    if (!spread && (cpuLeft > bestScore || (bestScore < ClusterSnapshot.OpenPenalty && 2 * cpuLeft > bestScore))) break;
                    if (spread && -(cpuLeft + otherMax) > bestScore) break;
                }
                for (int b = _cpuHeads[h]; b >= 0; b = _bucketNext[b])
                {
                    ref readonly BucketKey key = ref _bucketKeys[b];
                    if ((key.Flags & 1) == 0 || (r.Exclusive && (key.Flags & 2) == 0)) continue;
                    if (key.FreeMem < r.MemoryMiB || key.FreeGpus < r.Gpus) continue;
                    if (!spread && memBound != long.MaxValue)
                    {
                        // a node in use already is the best: an empty one loses, and so does one whose m > B / 2
                        if (key.FreeCpus == c.CapCpus && key.FreeMem == c.CapMem && key.FreeGpus == c.CapGpus) continue;
                        if (c.CapMem > 0 && (key.FreeMem - r.MemoryMiB) * ClusterSnapshot.ScoreScale >= memBound * c.CapMem) continue;
                    }
                    long score = spread
                        ? -ClusterSnapshot.Score(c.CapCpus, c.CapMem, c.CapGpus, key.FreeCpus, key.FreeMem, key.FreeGpus, r)
                        : ClusterSnapshot.PackScore(c.CapCpus, c.CapMem, c.CapGpus, key.FreeCpus, key.FreeMem, key.FreeGpus, r);
                    if (best >= 0 && score > bestScore) continue;
                    int n = _heapRoot[b];
                    if (best < 0 || score < bestScore || n < best)
                    {
                        best = n;
                        bestScore = score;
                        memBound = !spread && score < ClusterSnapshot.OpenPenalty ? score / 2 + 1 : long.MaxValue;
                    }
                }
            }
        }
        return best;
    }

    // The lowest set level bit in [from, to], or -1.
    private int NextLevel(int from, int to)
    {
        if (from > to) return -1;
        int wi = from >> 6, last = to >> 6;
        ulong bits = _levelBits[wi] & (~0UL << (from & 63));
        while (bits == 0)
        {
            if (++wi > last) return -1;
            bits = _levelBits[wi];
        }
        int h = (wi << 6) + BitOperations.TrailingZeroCount(bits);
        return h <= to ? h : -1;
    }

    // The highest set level bit in [to, from], or -1.
    private int PrevLevel(int from, int to)
    {
        if (from < to) return -1;
        int wi = from >> 6, first = to >> 6;
        ulong bits = _levelBits[wi] & (~0UL >> (63 - (from & 63)));
        while (bits == 0)
        {
            if (--wi < first) return -1;
            bits = _levelBits[wi];
        }
        int h = (wi << 6) + 63 - BitOperations.LeadingZeroCount(bits);
        return h >= to ? h : -1;
    }

    private BucketKey KeyOf(ClusterSnapshot s, int node) => new(_nodeClass[node], s.FreeCpus[node], s.FreeMemoryMiB[node], s.FreeGpus[node],
        (byte)((s.AcceptsWork(node) ? 1 : 0) | (s.JobCounts[node] == 0 ? 2 : 0)));

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
        int id = _freeCount > 0 ? _freeIds[--_freeCount] : _bucketTotal++;
        if (id == _bucketKeys.Length)
        {
            // Not reached while EnsureBuilt sized the arrays for every node; kept so a miscount degrades, not fails.
            int n = id * 2;
            Array.Resize(ref _bucketKeys, n); Array.Resize(ref _bucketCount, n); Array.Resize(ref _heapRoot, n);
            Array.Resize(ref _bucketNext, n); Array.Resize(ref _bucketPrev, n); Array.Resize(ref _freeIds, n);
        }
        _bucketKeys[id] = key;
        _bucketCount[id] = 0;
        _heapRoot[id] = -1;
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
            if (_bucketCount[b] == 0) continue; // a freed id is not in the table
            int h = _bucketKeys[b].GetHashCode() & mask;
            while (_bucketSlots[h] != 0) h = (h + 1) & mask;
            _bucketSlots[h] = b + 1;
        }
    }

    // Linear probing with backward-shift deletion: entries after the hole that may move into it do, so no tombstones.
    private void RemoveFromHash(int b)
    {
        int mask = _bucketSlots.Length - 1;
        int i = _bucketKeys[b].GetHashCode() & mask;
        while (_bucketSlots[i] != b + 1) i = (i + 1) & mask;
        int j = i;
        while (true)
        {
            j = (j + 1) & mask;
            int slot = _bucketSlots[j];
            if (slot == 0) break;
            int home = _bucketKeys[slot - 1].GetHashCode() & mask;
            // the entry at j stays when its home lies cyclically in (i, j]
            bool stays = i <= j ? i < home && home <= j : i < home || home <= j;
            if (stays) continue;
            _bucketSlots[i] = slot;
            i = j;
        }
        _bucketSlots[i] = 0;
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
            _levelBits[head >> 6] |= 1UL << (head & 63);
            LiveCount++;
        }
        _child[node] = -1;
        _heapRoot[b] = Meld(_heapRoot[b], node);
    }

    // Pairing heap: the root holds the lowest node index; Meld makes the larger root the first child of the smaller.
    // Both arguments are roots (or -1); the result is a root with no sibling.
    private int Meld(int a, int b)
    {
        if (a < 0) { _sibling[b] = _prev[b] = -1; return b; }
        if (b < 0) { _sibling[a] = _prev[a] = -1; return a; }
        if (b < a) (a, b) = (b, a);
        int first = _child[a];
        _sibling[b] = first;
        if (first >= 0) _prev[first] = b;
        _prev[b] = a;
        _child[a] = b;
        _sibling[a] = _prev[a] = -1;
        return a;
    }

    // Two-pass pairing of a sibling list into one root: meld neighbours left to right, then the pairs right to left.
    private int MergePairs(int first)
    {
        int stack = -1; // the pairs, linked through _sibling, last pair first
        while (first >= 0)
        {
            int a = first, b = _sibling[a];
            if (b < 0) { _prev[a] = -1; _sibling[a] = stack; stack = a; break; }
            first = _sibling[b];
            int m = Meld(a, b);
            _sibling[m] = stack;
            stack = m;
        }
        int root = -1;
        while (stack >= 0)
        {
            int next = _sibling[stack];
            _sibling[stack] = -1;
            root = Meld(root, stack);
            stack = next;
        }
        return root;
    }

    // Cuts a node out of its bucket's heap: its children are paired into one subtree that is melded back.
    private void RemoveFromHeap(int b, int node)
    {
        int sub = MergePairs(_child[node]);
        if (_heapRoot[b] == node)
        {
            _heapRoot[b] = sub < 0 ? -1 : sub;
        }
        else
        {
            int p = _prev[node], next = _sibling[node];
            if (_child[p] == node) _child[p] = next;
            else _sibling[p] = next;
            if (next >= 0) _prev[next] = p;
            _heapRoot[b] = Meld(_heapRoot[b], sub);
        }
        _child[node] = _sibling[node] = _prev[node] = -1;
    }
}

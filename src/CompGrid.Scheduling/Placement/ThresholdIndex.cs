using System.Numerics;
using System.Runtime.CompilerServices;

namespace CompGrid.Placement;

/// <summary>
/// Threshold bitsets over a <see cref="ClusterSnapshot"/>'s nodes: row <c>k</c> of the CPU index holds every node whose
/// free CPUs, quantised, are at least <c>k</c>; likewise memory and GPUs; plus rows for "accepts work", "idle", "has
/// no GPUs" and one per feature. A search ANDs a few rows and verifies the candidates exactly, so it looks at
/// nodes / 64 words instead of every node. Built lazily, then kept current: a change only marks its node, and the
/// next search moves each marked node to its current rows once. A what-if replay releases the same nodes many times
/// between two searches, so updating the rows on every change cost more than the searches. Not thread-safe.
/// </summary>
internal sealed class ThresholdIndex
{
    private const int MaxCpuLevels = 257, MaxMemLevels = 64, MaxGpuLevels = 17;

    private int _words; // 64-bit words per row
    private int _cpuShift, _gpuShift, _memShift;
    private int _cpuLevels, _memLevels, _gpuLevels;
    private int _maxCpu;
    private long _maxMem;
    private ulong[] _cpuRows = [], _memRows = [], _gpuRows = [];
    private ulong[] _availRow = [], _idleRow = [], _noGpuRow = [];
    private ulong[] _featureRows = []; // 64 rows, one per feature bit
    // The levels each node's bits are set at in the rows, and the nodes changed since (each listed once).
    private int[] _cpuLevel = [], _memLevel = [], _gpuLevel = [];
    private int[] _dirty = [];
    private bool[] _isDirty = [];
    private int _dirtyCount;

    /// <summary>Whether the rows describe the snapshot (false after a node was added).</summary>
    public bool IsBuilt { get; private set; }

    /// <summary>Marks the rows stale; the next search rebuilds them.</summary>
    public void Invalidate()
    {
        IsBuilt = false;
        for (int k = 0; k < _dirtyCount; k++) _isDirty[_dirty[k]] = false;
        _dirtyCount = 0;
    }

    /// <summary>Builds the rows from the snapshot's current state when stale, or brings the changed nodes up to date.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void EnsureBuilt(ClusterSnapshot s)
    {
        if (!IsBuilt) Build(s);
        else if (_dirtyCount > 0) Flush(s);
    }

    private void Build(ClusterSnapshot s)
    {
        int n = s.Count;
        ReadOnlySpan<int> capCpus = s.CapacityCpus, capGpus = s.CapacityGpus, freeCpus = s.FreeCpus, freeGpus = s.FreeGpus, jobs = s.JobCounts;
        ReadOnlySpan<long> capMem = s.CapacityMemoryMiB, freeMem = s.FreeMemoryMiB;
        ReadOnlySpan<ulong> features = s.FeatureMasks;
        _words = Math.Max(1, (n + 63) >> 6);
        int maxCpu = 0, maxGpu = 0;
        long maxMem = 0;
        for (int i = 0; i < n; i++)
        {
            maxCpu = Math.Max(maxCpu, capCpus[i]);
            maxGpu = Math.Max(maxGpu, capGpus[i]);
            maxMem = Math.Max(maxMem, capMem[i]);
        }
        _maxCpu = maxCpu;
        _maxMem = maxMem;
        _cpuShift = ShiftFor(maxCpu, MaxCpuLevels);
        _gpuShift = ShiftFor(maxGpu, MaxGpuLevels);
        _memShift = ShiftFor(maxMem, MaxMemLevels);
        _cpuLevels = (int)(maxCpu >> _cpuShift) + 1;
        _gpuLevels = (int)(maxGpu >> _gpuShift) + 1;
        _memLevels = (int)(maxMem >> _memShift) + 1;
        Cleared(ref _cpuRows, _cpuLevels * _words);
        Cleared(ref _memRows, _memLevels * _words);
        Cleared(ref _gpuRows, _gpuLevels * _words);
        Cleared(ref _availRow, _words);
        Cleared(ref _idleRow, _words);
        Cleared(ref _noGpuRow, _words);
        Cleared(ref _featureRows, 64 * _words);
        if (_cpuLevel.Length < n)
        {
            _cpuLevel = new int[n]; _memLevel = new int[n]; _gpuLevel = new int[n];
            _dirty = new int[n]; _isDirty = new bool[n];
        }
        for (int k = 0; k < _dirtyCount; k++) _isDirty[_dirty[k]] = false;
        _dirtyCount = 0;
        for (int i = 0; i < n; i++)
        {
            ulong bit = 1UL << (i & 63);
            int wi = i >> 6;
            _cpuLevel[i] = freeCpus[i] >> _cpuShift;
            _memLevel[i] = (int)(freeMem[i] >> _memShift);
            _gpuLevel[i] = freeGpus[i] >> _gpuShift;
            for (int l = _cpuLevel[i]; l >= 0; l--) _cpuRows[l * _words + wi] |= bit;
            for (int l = _memLevel[i]; l >= 0; l--) _memRows[l * _words + wi] |= bit;
            for (int l = _gpuLevel[i]; l >= 0; l--) _gpuRows[l * _words + wi] |= bit;
            if (s.AcceptsWork(i)) _availRow[wi] |= bit;
            if (jobs[i] == 0) _idleRow[wi] |= bit;
            if (capGpus[i] == 0) _noGpuRow[wi] |= bit;
            for (ulong f = features[i]; f != 0; f &= f - 1) _featureRows[BitOperations.TrailingZeroCount(f) * _words + wi] |= bit;
        }
        IsBuilt = true;
    }

    /// <summary>
    /// Makes these rows a copy of <paramref name="source"/>'s (built, over <paramref name="sourceSnapshot"/>), for a
    /// snapshot that just copied that snapshot's nodes: copying the rows costs a fraction of rebuilding them.
    /// </summary>
    public void CopyFrom(ThresholdIndex source, ClusterSnapshot sourceSnapshot)
    {
        source.EnsureBuilt(sourceSnapshot);
        Invalidate();
        _words = source._words;
        _cpuShift = source._cpuShift; _gpuShift = source._gpuShift; _memShift = source._memShift;
        _cpuLevels = source._cpuLevels; _memLevels = source._memLevels; _gpuLevels = source._gpuLevels;
        _maxCpu = source._maxCpu; _maxMem = source._maxMem;
        Copied(ref _cpuRows, source._cpuRows);
        Copied(ref _memRows, source._memRows);
        Copied(ref _gpuRows, source._gpuRows);
        Copied(ref _availRow, source._availRow);
        Copied(ref _idleRow, source._idleRow);
        Copied(ref _noGpuRow, source._noGpuRow);
        Copied(ref _featureRows, source._featureRows);
        int n = sourceSnapshot.Count;
        if (_cpuLevel.Length < n)
        {
            _cpuLevel = new int[n]; _memLevel = new int[n]; _gpuLevel = new int[n];
            _dirty = new int[n]; _isDirty = new bool[n];
        }
        Array.Copy(source._cpuLevel, _cpuLevel, n); Array.Copy(source._memLevel, _memLevel, n); Array.Copy(source._gpuLevel, _gpuLevel, n);
        IsBuilt = true;
    }

    // A zeroed array of exactly `length` words, reusing the current one when it has that length.
    private static void Cleared(ref ulong[] rows, int length)
    {
        if (rows.Length == length) Array.Clear(rows);
        else rows = new ulong[length];
    }

    private static void Copied(ref ulong[] rows, ulong[] source)
    {
        if (rows.Length != source.Length) rows = new ulong[source.Length];
        Array.Copy(source, rows, source.Length);
    }

    /// <summary>
    /// Records that a node's free resources, job count or availability changed; the next <see cref="EnsureBuilt"/>
    /// moves it between rows. Only while built: a rebuild reads every node anyway.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void MarkChanged(int node)
    {
        if (!IsBuilt || _isDirty[node]) return;
        _isDirty[node] = true;
        _dirty[_dirtyCount++] = node;
    }

    private void Flush(ClusterSnapshot s)
    {
        int w = _words;
        ReadOnlySpan<int> freeCpus = s.FreeCpus, freeGpus = s.FreeGpus, jobs = s.JobCounts;
        ReadOnlySpan<long> freeMem = s.FreeMemoryMiB;
        for (int k = 0; k < _dirtyCount; k++)
        {
            int node = _dirty[k], wi = node >> 6;
            _isDirty[node] = false;
            ulong bit = 1UL << (node & 63);
            int cpu = freeCpus[node] >> _cpuShift, mem = (int)(freeMem[node] >> _memShift), gpu = freeGpus[node] >> _gpuShift;
            UpdateRows(_cpuRows, w, wi, bit, _cpuLevel[node], cpu);
            UpdateRows(_memRows, w, wi, bit, _memLevel[node], mem);
            UpdateRows(_gpuRows, w, wi, bit, _gpuLevel[node], gpu);
            _cpuLevel[node] = cpu; _memLevel[node] = mem; _gpuLevel[node] = gpu;
            SetBit(_availRow, node, s.AcceptsWork(node));
            SetBit(_idleRow, node, jobs[node] == 0);
        }
        _dirtyCount = 0;
    }

    // The rows a request ANDs: CPU, memory and GPU levels, accepts work, and the extra rows (idle nodes for exclusive
    // jobs, nodes without GPUs, the first two required features, the complement of the first forbidden feature).
    // Anything else is verified per candidate.
    private readonly ref struct Rows
    {
        private readonly ReadOnlySpan<ulong> _cpu, _mem, _gpu, _avail, _x1, _x2, _f1, _f2, _nf;
        private readonly bool _extra;

        public Rows(ThresholdIndex ix, in PlacementRequest request, bool avoidGpu)
        {
            int w = ix._words;
            int cpuOff = Level(request.Cpus, ix._cpuShift, ix._cpuLevels) * w;
            int memOff = Level(request.MemoryMiB, ix._memShift, ix._memLevels) * w;
            int gpuOff = Level(request.Gpus, ix._gpuShift, ix._gpuLevels) * w;
            Empty = cpuOff < 0 || memOff < 0 || gpuOff < 0; // more than any node has
            if (Empty) return;
            _cpu = ix._cpuRows.AsSpan(cpuOff, w); _mem = ix._memRows.AsSpan(memOff, w); _gpu = ix._gpuRows.AsSpan(gpuOff, w);
            _avail = ix._availRow;
            _x1 = request.Exclusive ? ix._idleRow : default;
            _x2 = avoidGpu ? ix._noGpuRow : default;
            ulong req = request.RequiredFeatures;
            _f1 = req != 0 ? ix.FeatureRow(BitOperations.TrailingZeroCount(req)) : default;
            req &= req - 1;
            _f2 = req != 0 ? ix.FeatureRow(BitOperations.TrailingZeroCount(req)) : default;
            _nf = request.ForbiddenFeatures != 0 ? ix.FeatureRow(BitOperations.TrailingZeroCount(request.ForbiddenFeatures)) : default;
            _extra = !_x1.IsEmpty || !_x2.IsEmpty || !_f1.IsEmpty || !_nf.IsEmpty;
        }

        /// <summary>True when no node can ever have the amounts asked.</summary>
        public bool Empty { get; }

        /// <summary>The candidate bits of word <paramref name="wi"/> (a superset of the nodes that fit).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public ulong Word(int wi)
        {
            ulong bits = _cpu[wi] & _mem[wi] & _gpu[wi] & _avail[wi];
            if (bits == 0 || !_extra) return bits;
            if (!_x1.IsEmpty) bits &= _x1[wi];
            if (!_x2.IsEmpty) bits &= _x2[wi];
            if (!_f1.IsEmpty) bits &= _f1[wi];
            if (!_f2.IsEmpty) bits &= _f2[wi];
            if (!_nf.IsEmpty) bits &= ~_nf[wi];
            return bits;
        }
    }

    /// <summary>The lowest node index at or after <paramref name="start"/> that fits <paramref name="request"/>, or -1. The rows must be built.</summary>
    public int Scan(ClusterSnapshot s, in PlacementRequest request, int start, bool avoidGpu)
    {
        Span<int> one = stackalloc int[1];
        return ScanMany(s, request, start, avoidGpu, one) == 1 ? one[0] : -1;
    }

    /// <summary>
    /// Writes the lowest node indexes at or after <paramref name="start"/> that fit <paramref name="request"/> to
    /// <paramref name="found"/>, in one pass, stopping when it is full; returns how many were written. The rows must be built.
    /// </summary>
    public int ScanMany(ClusterSnapshot s, in PlacementRequest request, int start, bool avoidGpu, Span<int> found) =>
        Collect(s, request, start, avoidGpu, found, found.Length);

    /// <summary>How many nodes fit <paramref name="request"/> now, counting up to <paramref name="max"/>. The rows must be built.</summary>
    public int Count(ClusterSnapshot s, in PlacementRequest request, int max) => Collect(s, request, 0, false, [], max);

    // The fitting nodes at or after `start`, in index order, up to `limit`; written to `found` unless it is empty.
    private int Collect(ClusterSnapshot s, in PlacementRequest request, int start, bool avoidGpu, Span<int> found, int limit)
    {
        var rows = new Rows(this, request, avoidGpu);
        if (rows.Empty || limit <= 0) return 0;
        ReadOnlySpan<int> freeCpus = s.FreeCpus, freeGpus = s.FreeGpus;
        ReadOnlySpan<long> freeMem = s.FreeMemoryMiB;
        int have = 0;
        int wi = start >> 6;
        ulong first = ~0UL << (start & 63);
        for (; wi < _words; wi++)
        {
            ulong bits = rows.Word(wi) & first;
            first = ~0UL;
            while (bits != 0)
            {
                int node = (wi << 6) + BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
                if (freeCpus[node] >= request.Cpus && freeMem[node] >= request.MemoryMiB && freeGpus[node] >= request.Gpus
                    && s.MatchesStatic(node, request))
                {
                    if (!found.IsEmpty) found[have] = node;
                    if (++have == limit) return have;
                }
            }
        }
        return have;
    }

    /// <summary>
    /// Best fit over every fitting node (for requests the state buckets cannot serve, such as feature constraints): the
    /// lowest <see cref="ClusterSnapshot.PackScore"/>, ties to the lowest index, or -1. One pass over the rows; once a
    /// node in use is the best, a candidate is dropped without dividing when a bound shows it cannot beat it.
    /// </summary>
    public int BestPack(ClusterSnapshot s, in PlacementRequest request, bool avoidGpu)
    {
        var rows = new Rows(this, request, avoidGpu);
        if (rows.Empty) return -1;
        ReadOnlySpan<int> freeCpus = s.FreeCpus, freeGpus = s.FreeGpus, capCpus = s.CapacityCpus, capGpus = s.CapacityGpus;
        ReadOnlySpan<long> freeMem = s.FreeMemoryMiB, capMem = s.CapacityMemoryMiB;
        int rCpus = request.Cpus, rGpus = request.Gpus;
        long rMem = request.MemoryMiB;
        int best = -1;
        long bestScore = long.MaxValue;
        // While a node in use is the best: its score B; any node in use scores at least 2c and 2m (c + m + |c - m|
        // = 2 max(c, m)), so one whose c or m is at least ceil(B / 2) cannot win (ties go to the earlier index).
        long half = long.MaxValue;
        Span<int> emptyCpus = stackalloc int[8], emptyGpus = stackalloc int[8];
        Span<long> emptyMem = stackalloc long[8];
        int emptySeen = 0;
        ReadOnlySpan<ulong> cpuCut = default, memCut = default;
        for (int wi = 0; wi < _words; wi++)
        {
            ulong bits = rows.Word(wi);
            if (!cpuCut.IsEmpty) bits &= ~cpuCut[wi];
            if (!memCut.IsEmpty) bits &= ~memCut[wi];
            while (bits != 0)
            {
                int node = (wi << 6) + BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
                int fc = freeCpus[node], fg = freeGpus[node], cc = capCpus[node], cg = capGpus[node];
                long fm = freeMem[node], cm = capMem[node];
                if (fc < rCpus || fm < rMem || fg < rGpus || !s.MatchesStatic(node, request)) continue;
                bool empty = fc == cc && fm == cm && fg == cg;
                if (empty)
                {
                    // An empty node's score depends only on its capacity, and each capacity is scored once: a later empty
                    // node of a capacity already seen ties at best, and ties go to the earlier index.
                    if (half != long.MaxValue) continue; // and it scores above any node in use
                    int seen = 0;
                    while (seen < emptySeen && (emptyCpus[seen] != cc || emptyMem[seen] != cm || emptyGpus[seen] != cg)) seen++;
                    if (seen < emptySeen) continue;
                    if (emptySeen < emptyCpus.Length)
                    {
                        emptyCpus[emptySeen] = cc; emptyMem[emptySeen] = cm; emptyGpus[emptySeen] = cg;
                        emptySeen++;
                    }
                }
                if (half != long.MaxValue)
                {
                    if (cc > 0 && (fc - (long)rCpus) * ClusterSnapshot.ScoreScale >= half * cc) continue;
                    if (cm > 0 && (fm - rMem) * ClusterSnapshot.ScoreScale >= half * cm) continue;
                }
                if (half != long.MaxValue)
                {
                    // The score in floating point (pipelined divisions) is within 3 of the exact one (three floors), so a
                    // node at least 4 above the best cannot win and skips the exact integer divisions.
                    double cd = cc > 0 ? (fc - (double)rCpus) * ClusterSnapshot.ScoreScale / cc : 0;
                    double md = cm > 0 ? (fm - (double)rMem) * ClusterSnapshot.ScoreScale / cm : 0;
                    double gd = cg > 0 ? (fg - (double)rGpus) * ClusterSnapshot.ScoreScale / cg : 0;
                    if (2 * Math.Max(cd, md) + gd >= bestScore + 4) continue;
                }
                long score = ClusterSnapshot.PackScore(cc, cm, cg, fc, fm, fg, request);
                if (score < bestScore)
                {
                    best = node;
                    bestScore = score;
                    half = score < ClusterSnapshot.OpenPenalty ? (score + 1) / 2 : long.MaxValue;
                    if (half != long.MaxValue)
                    {
                        // Whole words at once: a node with at least r + ceil(half x the largest capacity / scale) CPUs
                        // (or memory) free has c (or m) >= half on any node, so the rows at those levels drop out.
                        cpuCut = CutRow(_cpuRows, rCpus + CeilDiv(half * _maxCpu, ClusterSnapshot.ScoreScale), _cpuShift, _cpuLevels);
                        memCut = CutRow(_memRows, rMem + CeilDiv(half * _maxMem, ClusterSnapshot.ScoreScale), _memShift, _memLevels);
                    }
                }
            }
        }
        return best;
    }

    // The row of nodes with at least `amount` free (rounded up to a level), or empty when no node has that much.
    private ReadOnlySpan<ulong> CutRow(ulong[] rows, long amount, int shift, int levels)
    {
        long level = Math.Max(0, (amount + (1L << shift) - 1) >> shift);
        return level < levels ? rows.AsSpan((int)level * _words, _words) : default;
    }

    private static long CeilDiv(long a, long b) => (a + b - 1) / b;

    private ReadOnlySpan<ulong> FeatureRow(int feature) => _featureRows.AsSpan(feature * _words, _words);

    // -1 when the amount exceeds the top level (no node can have it).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Level(long amount, int shift, int levels)
    {
        if (amount <= 0) return 0;
        long l = amount >> shift;
        return l >= levels ? -1 : (int)l;
    }

    private static int ShiftFor(long max, int levels)
    {
        int shift = 0;
        while ((max >> shift) >= levels) shift++;
        return shift;
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
}

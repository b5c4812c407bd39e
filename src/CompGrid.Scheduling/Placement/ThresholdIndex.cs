using System.Numerics;
using System.Runtime.CompilerServices;

namespace CompGrid.Placement;

/// <summary>
/// Threshold bitsets over a <see cref="ClusterSnapshot"/>'s nodes: row <c>k</c> of the CPU index holds every node whose
/// free CPUs, quantised, are at least <c>k</c>; likewise memory and GPUs; plus rows for "accepts work", "idle", "has
/// no GPUs" and one per feature. A search ANDs a few rows and verifies the candidates exactly, so it looks at
/// nodes / 64 words instead of every node. Built lazily, then kept current on every change. Not thread-safe.
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

    /// <summary>Whether the rows describe the snapshot (false after a node was added).</summary>
    public bool IsBuilt { get; private set; }

    /// <summary>Marks the rows stale; the next search rebuilds them.</summary>
    public void Invalidate() => IsBuilt = false;

    /// <summary>Builds the rows from the snapshot's current state, when stale.</summary>
    public void EnsureBuilt(ClusterSnapshot s)
    {
        if (IsBuilt) return;
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
            for (int l = freeCpus[i] >> _cpuShift; l >= 0; l--) _cpuRows[l * _words + wi] |= bit;
            for (int l = (int)(freeMem[i] >> _memShift); l >= 0; l--) _memRows[l * _words + wi] |= bit;
            for (int l = freeGpus[i] >> _gpuShift; l >= 0; l--) _gpuRows[l * _words + wi] |= bit;
            if (s.AcceptsWork(i)) _availRow[wi] |= bit;
            if (jobs[i] == 0) _idleRow[wi] |= bit;
            if (capGpus[i] == 0) _noGpuRow[wi] |= bit;
            for (ulong f = features[i]; f != 0; f &= f - 1) _featureRows[BitOperations.TrailingZeroCount(f) * _words + wi] |= bit;
        }
        IsBuilt = true;
    }

    /// <summary>Moves a node between rows after its free resources, job count or availability changed.</summary>
    public void Update(ClusterSnapshot s, int node, int oldCpu, long oldMem, int oldGpu)
    {
        int w = _words, wi = node >> 6;
        ulong bit = 1UL << (node & 63);
        UpdateRows(_cpuRows, w, wi, bit, oldCpu >> _cpuShift, s.FreeCpus[node] >> _cpuShift);
        UpdateRows(_memRows, w, wi, bit, (int)(oldMem >> _memShift), (int)(s.FreeMemoryMiB[node] >> _memShift));
        UpdateRows(_gpuRows, w, wi, bit, oldGpu >> _gpuShift, s.FreeGpus[node] >> _gpuShift);
        SetBit(_availRow, node, s.AcceptsWork(node));
        SetBit(_idleRow, node, s.JobCounts[node] == 0);
    }

    /// <summary>Sets whether a node accepts work in the availability row.</summary>
    public void SetAvailable(int node, bool value) => SetBit(_availRow, node, value);

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
    public int ScanMany(ClusterSnapshot s, in PlacementRequest request, int start, bool avoidGpu, Span<int> found)
    {
        var rows = new Rows(this, request, avoidGpu);
        if (rows.Empty || found.IsEmpty) return 0;
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
                    found[have++] = node;
                    if (have == found.Length) return have;
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

namespace CompGrid.Backfill;

/// <summary>
/// The ends of the running jobs and of the jobs started in one cycle, in time order, for the replays that find the
/// shadow time and the start estimates. The running jobs' ends are sorted once per cycle (both replays need them) and
/// merged with the cycle's starts, sorted on their own. Event ids below the running count are running jobs; the others
/// index the cycle's starts. Events at one time are released together before any placement is tried, so their order
/// among themselves does not matter. Reused between cycles; allocation-free once warm. Not thread-safe.
/// </summary>
internal sealed class ReleaseEvents
{
    private const int RadixBits = 11, RadixSize = 1 << RadixBits, RadixMask = RadixSize - 1, MaxPasses = 6;
    private long[] _runEnd = [], _keys = [], _keyScratch = [], _startEnd = [];
    private int[] _runId = [], _startId = [];
    private readonly int[] _histogram = new int[MaxPasses * RadixSize];
    private int _runCount = -1;

    /// <summary>Event end times (ticks), ascending; the first <see cref="Count"/> are valid.</summary>
    public long[] End { get; private set; } = [];

    /// <summary>Event ids, in the order of <see cref="End"/>.</summary>
    public int[] Id { get; private set; } = [];

    /// <summary>Valid events after the last <see cref="Merge"/>.</summary>
    public int Count { get; private set; }

    /// <summary>Forgets the running jobs' order: the next <see cref="Merge"/> sorts them again.</summary>
    public void Reset() => _runCount = -1;

    /// <summary>The buffer for the ends of the cycle's first <paramref name="count"/> starts, for the caller to fill before <see cref="Merge"/>.</summary>
    public Span<long> StartedEnds(int count)
    {
        if (_startEnd.Length < count) { _startEnd = new long[Math.Max(count, _startEnd.Length * 2)]; _startId = new int[_startEnd.Length]; }
        return _startEnd.AsSpan(0, count);
    }

    /// <summary>
    /// Fills <see cref="End"/>/<see cref="Id"/> with the running jobs' ends (not before <paramref name="nowT"/>) and the
    /// <paramref name="startedCount"/> ends written to <see cref="StartedEnds"/> (ids from the running count on).
    /// </summary>
    public void Merge(ReadOnlySpan<RunningAllocation> running, long nowT, int startedCount)
    {
        int r = running.Length, s = startedCount, m = r + s;
        if (_runCount != r) SortRunning(running, nowT);
        SortWithIds(_startEnd, _startId, s, r);
        if (End.Length < m) { End = new long[m]; Id = new int[m]; }
        long[] end = End;
        int[] id = Id;
        int a = 0, b = 0;
        for (int k = 0; k < m; k++)
        {
            if (b == s || (a < r && _runEnd[a] <= _startEnd[b])) { end[k] = _runEnd[a]; id[k] = _runId[a++]; }
            else { end[k] = _startEnd[b]; id[k] = _startId[b++]; }
        }
        Count = m;
    }

    private void SortRunning(ReadOnlySpan<RunningAllocation> running, long nowT)
    {
        int n = running.Length;
        _runCount = n;
        if (_runEnd.Length < n) { _runEnd = new long[n]; _runId = new int[n]; }
        for (int k = 0; k < n; k++) _runEnd[k] = Math.Max(nowT, running[k].ExpectedEnd.UtcTicks);
        SortWithIds(_runEnd, _runId, n, 0);
    }

    // Sorts the first n ends ascending and writes beside each its id (its index before the sort, plus idBase). Each end
    // (relative to the earliest) and its index are packed into one non-negative long and radix-sorted: several times
    // faster than a comparison sort of keys with items at tens of thousands of jobs. Ends spread too far apart to pack
    // (beyond about 2^63 / n ticks) fall back to Array.Sort.
    private void SortWithIds(long[] ends, int[] ids, int n, int idBase)
    {
        if (n == 0) return;
        long min = long.MaxValue, max = long.MinValue;
        for (int k = 0; k < n; k++) { min = Math.Min(min, ends[k]); max = Math.Max(max, ends[k]); }
        int idBits = n == 1 ? 1 : 64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)(n - 1));
        if ((ulong)(max - min) >> (63 - idBits) != 0)
        {
            for (int k = 0; k < n; k++) ids[k] = idBase + k;
            Array.Sort(ends, ids, 0, n);
            return;
        }
        if (_keys.Length < n) { _keys = new long[Math.Max(n, _keys.Length * 2)]; _keyScratch = new long[_keys.Length]; }
        for (int k = 0; k < n; k++) _keys[k] = ((ends[k] - min) << idBits) | (long)k;
        long[] sorted = RadixSort(_keys, _keyScratch, n, ((max - min) << idBits) | (long)(n - 1));
        long mask = (1L << idBits) - 1;
        for (int k = 0; k < n; k++) { ends[k] = (sorted[k] >> idBits) + min; ids[k] = idBase + (int)(sorted[k] & mask); }
    }

    // LSD radix sort of n non-negative keys at most maxKey, 11 bits a pass; all histograms counted in one read. Passes
    // whose digit is the same in every key are skipped. Returns the array holding the sorted keys (keys or scratch).
    private long[] RadixSort(long[] keys, long[] scratch, int n, long maxKey)
    {
        int passes = Math.Max(1, (64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)maxKey) + RadixBits - 1) / RadixBits);
        int[] h = _histogram;
        Array.Clear(h, 0, passes * RadixSize);
        for (int k = 0; k < n; k++)
        {
            ulong v = (ulong)keys[k];
            for (int p = 0; p < passes; p++) h[p * RadixSize + (int)((v >> (p * RadixBits)) & RadixMask)]++;
        }
        long[] src = keys, dst = scratch;
        for (int p = 0; p < passes; p++)
        {
            int offset = p * RadixSize, shift = p * RadixBits;
            if (h[offset + (int)(((ulong)src[0] >> shift) & RadixMask)] == n) continue; // one digit value: already in order
            int sum = 0;
            for (int d = 0; d < RadixSize; d++) { int c = h[offset + d]; h[offset + d] = sum; sum += c; }
            for (int k = 0; k < n; k++)
            {
                long v = src[k];
                dst[h[offset + (int)(((ulong)v >> shift) & RadixMask)]++] = v;
            }
            (src, dst) = (dst, src);
        }
        return src;
    }
}

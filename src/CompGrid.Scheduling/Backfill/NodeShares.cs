using CompGrid.Placement;

namespace CompGrid.Backfill;

/// <summary>
/// Per node, the shares of the jobs on it that a replay will release: each share's end time and what it gives back
/// (CPUs, memory, GPUs, exclusivity). Filled in one pass over the jobs (a linked list per node, appended in the order
/// the jobs come), then read node by node in end order. Reused between cycles; allocation-free once warm. Not thread-safe.
/// </summary>
internal sealed class NodeShares
{
    private int[] _head = [], _next = [], _cpus = [], _gpus = [], _sorted = new int[16];
    private long[] _end = [], _memory = [];
    private bool[] _exclusive = [];
    private int _count;

    /// <summary>Empties the lists for a cluster of <paramref name="nodes"/> nodes.</summary>
    public void Reset(int nodes)
    {
        if (_head.Length < nodes) _head = new int[nodes];
        Array.Fill(_head, -1, 0, nodes);
        _count = 0;
    }

    /// <summary>Adds the share of <paramref name="request"/> a job holds on <paramref name="node"/> until <paramref name="end"/>.</summary>
    public void Add(int node, long end, in PlacementRequest request)
    {
        if (_count == _end.Length) Grow();
        int s = _count++;
        _end[s] = end;
        _cpus[s] = request.Cpus;
        _memory[s] = request.MemoryMiB;
        _gpus[s] = request.Gpus;
        _exclusive[s] = request.Exclusive;
        _next[s] = _head[node];
        _head[node] = s;
    }

    /// <summary>The shares on <paramref name="node"/>, earliest end first (valid until the next call).</summary>
    public ReadOnlySpan<int> ByEnd(int node)
    {
        int n = 0;
        for (int s = _head[node]; s >= 0; s = _next[s])
        {
            if (n == _sorted.Length) Array.Resize(ref _sorted, n * 2);
            // insertion by end: a node holds a handful of jobs
            int at = n++;
            while (at > 0 && _end[_sorted[at - 1]] > _end[s]) { _sorted[at] = _sorted[at - 1]; at--; }
            _sorted[at] = s;
        }
        return _sorted.AsSpan(0, n);
    }

    /// <summary>The end time of a share.</summary>
    public long End(int share) => _end[share];

    /// <summary>What a share gives back when released, as a one-node request.</summary>
    public PlacementRequest Request(int share) => new(_cpus[share], _memory[share], _gpus[share], 1, Exclusive: _exclusive[share]);

    private void Grow()
    {
        int size = Math.Max(1024, _end.Length * 2);
        Array.Resize(ref _end, size);
        Array.Resize(ref _cpus, size);
        Array.Resize(ref _memory, size);
        Array.Resize(ref _gpus, size);
        Array.Resize(ref _exclusive, size);
        Array.Resize(ref _next, size);
    }
}

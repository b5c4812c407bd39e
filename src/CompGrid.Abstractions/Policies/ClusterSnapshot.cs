namespace CompGrid.Placement;

/// <summary>
/// The nodes a placement policy chooses from, laid out for speed: one dense index per node and one array per
/// resource (struct of arrays), features and partitions as bit masks. Policies read it and the engine updates it
/// incrementally with <see cref="Allocate"/> and <see cref="Release"/>. Not thread-safe.
/// </summary>
public sealed class ClusterSnapshot
{
    private readonly List<string> _features = [];
    private readonly List<string> _partitions = [];
    private readonly List<string> _gpuModels = [];
    private readonly Dictionary<string, int> _nodeIndex = new(StringComparer.Ordinal);
    private string[] _names = new string[16];
    private int[] _capCpus = new int[16], _freeCpus = new int[16], _capGpus = new int[16], _freeGpus = new int[16], _gpuModel = new int[16], _jobCount = new int[16];
    private long[] _capMem = new long[16], _freeMem = new long[16];
    private ulong[] _featureMask = new ulong[16], _partitionMask = new ulong[16];
    private bool[] _schedulable = new bool[16], _exclusive = new bool[16];

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

    /// <summary>Adds a node and returns its index. Features and partitions beyond 64 distinct names each are rejected.</summary>
    public int AddNode(string name, NodeResources capacity, NodeResources free, IEnumerable<string>? features = null,
        IEnumerable<string>? partitions = null, string? gpuModel = null, bool schedulable = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (_nodeIndex.ContainsKey(name))
            throw new ArgumentException($"A node named '{name}' is already in the snapshot.", nameof(name));
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
        && (_featureMask[node] & request.RequiredFeatures) == request.RequiredFeatures
        && (_featureMask[node] & request.ForbiddenFeatures) == 0
        && (request.PartitionMask == 0 || (_partitionMask[node] & request.PartitionMask) != 0)
        && (request.GpuModel == 0 || _gpuModel[node] == request.GpuModel)
        && (!request.Exclusive || _jobCount[node] == 0);

    /// <summary>Takes one node's share of <paramref name="request"/> from node <paramref name="node"/>. Throws when it does not fit.</summary>
    public void Allocate(int node, in PlacementRequest request)
    {
        if (!Fits(node, request))
            throw new InvalidOperationException($"Node '{_names[node]}' cannot take {request}.");
        _freeCpus[node] -= request.Cpus; _freeMem[node] -= request.MemoryMiB; _freeGpus[node] -= request.Gpus;
        _jobCount[node]++;
        if (request.Exclusive) _exclusive[node] = true;
        Generation++;
    }

    /// <summary>Gives back one node's share of <paramref name="request"/> to node <paramref name="node"/>.</summary>
    public void Release(int node, in PlacementRequest request)
    {
        _freeCpus[node] = Math.Min(_capCpus[node], _freeCpus[node] + request.Cpus);
        _freeMem[node] = Math.Min(_capMem[node], _freeMem[node] + request.MemoryMiB);
        _freeGpus[node] = Math.Min(_capGpus[node], _freeGpus[node] + request.Gpus);
        if (_jobCount[node] > 0) _jobCount[node]--;
        if (request.Exclusive) _exclusive[node] = false;
        Generation++;
    }

    /// <summary>Marks a node as accepting work or not.</summary>
    public void SetSchedulable(int node, bool schedulable) { _schedulable[node] = schedulable; Generation++; }

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

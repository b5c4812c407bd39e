using System.Runtime.CompilerServices;
using System.Collections.Frozen;

namespace CompGrid.Ordering;

/// <summary>
/// Slurm-style multifactor priority: age, fair share, job size, QOS and partition factors, each 0..1, weighted and
/// summed, minus nice; highest first, ties by submit time then job id. Fair share is Slurm's classic
/// <c>F = 2^(-UE/S)</c> (registered as <c>multifactor</c>) or Fair Tree (registered as <c>fair-tree</c>), over usage
/// from a <see cref="FairShareLedger"/> decayed by its half-life. <see cref="Explain"/> breaks a job's priority down
/// like <c>sprio</c>. Ordering a million jobs takes one key pass and one array sort; buffers are reused between calls.
/// </summary>
internal sealed class MultifactorPriorityPolicy : IQueueOrderingPolicy
{
    /// <summary>The registered name of the classic fair-share variant.</summary>
    public const string ClassicName = QueueOrderingNames.Multifactor;

    /// <summary>The registered name of the Fair Tree variant.</summary>
    public const string FairTreeName = QueueOrderingNames.FairTree;

    private readonly object _gate = new();
    private readonly MultifactorPriorityOptions _options;
    private readonly FairShareLedger _ledger;
    private readonly FairShareAlgorithm _algorithm;
    private readonly double _maxQos, _maxPartition;
    private readonly FrozenDictionary<string, double> _qos, _partition;
    private FairShareResult? _fairShare;
    private long _fairShareVersion = -1;
    private uint[] _keys = [], _tmpKeys = [];
    private double[] _base = [];
    private int[] _cpus = [];
    private int[] _idx = [], _tmpIdx = [];
    // LSD radix sort of the 32-bit keys in three passes of 11, 11 and 10 bits; the three histograms are counted
    // while the keys are made, so the sort reads the keys only to scatter them.
    private const int RadixBits = 11, RadixSize = 1 << RadixBits, RadixMask = RadixSize - 1;
    private readonly int[] _radixCount = new int[3 * RadixSize];
    private const int CacheSize = 16384;
    private readonly CacheEntry[] _cache = new CacheEntry[CacheSize];

    private readonly record struct CacheEntry(string? Account, string? User, double Factor);
    private readonly HashSet<(string, string)> _known = [];
    private JobRecord[] _scratch = [];

    /// <summary>Creates the policy.</summary>
    public MultifactorPriorityPolicy(MultifactorPriorityOptions? options = null, FairShareLedger? ledger = null, FairShareAlgorithm algorithm = FairShareAlgorithm.Classic)
    {
        _options = options ?? new MultifactorPriorityOptions();
        IReadOnlyList<string> errors = _options.Validate();
        if (errors.Count > 0) throw new ArgumentException(string.Join(" ", errors), nameof(options));
        _ledger = ledger ?? new FairShareLedger();
        _algorithm = algorithm;
        _qos = _options.QosPriorities.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        _partition = _options.PartitionPriorities.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        _maxQos = _qos.Count == 0 ? 0 : _qos.Values.Max();
        _maxPartition = _partition.Count == 0 ? 0 : _partition.Values.Max();
    }

    /// <inheritdoc/>
    public string Name => _algorithm == FairShareAlgorithm.Classic ? ClassicName : FairTreeName;

    /// <summary>The fair-share variant.</summary>
    internal FairShareAlgorithm Algorithm => _algorithm;

    /// <summary>The usage ledger fair share reads (also an <see cref="IUsageSink"/> the engine feeds).</summary>
    public FairShareLedger Ledger => _ledger;

    /// <summary>The current fair-share factors for the given associations (plus every one with usage or configuration).</summary>
    public FairShareResult GetFairShare(DateTimeOffset now, IEnumerable<(string Account, string User)>? associations = null)
    {
        lock (_gate)
        {
            if (associations is not null) foreach (var a in associations) _known.Add(a);
            return Recompute(now);
        }
    }

    /// <inheritdoc/>
    public void Order(List<JobRecord> pending, QueueOrderingContext context)
    {
        ArgumentNullException.ThrowIfNull(pending);
        ArgumentNullException.ThrowIfNull(context);
        lock (_gate)
        {
            int n = pending.Count;
            if (n < 2) return;
            if (_keys.Length < n)
            {
                int size = Math.Max(n, _keys.Length * 2);
                _keys = new uint[size]; _idx = new int[size]; _tmpKeys = new uint[size]; _tmpIdx = new int[size]; _scratch = new JobRecord[size];
                _base = new double[size]; _cpus = new int[size];
            }
            DateTimeOffset now = context.Now;
            FairShareResult fs = CurrentFairShare(now);
            Array.Clear(_cache);
            string defaultAccount = _ledger.Options.DefaultAccount;
            long nowTicks = now.UtcTicks;
            ReadOnlySpan<JobRecord> records = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(pending);
            for (int pass = 0; pass < 2; pass++)
            {
                HashSet<(string, string)>? missing = null;
                string? lastAccount = null, lastUser = null;
                double lastFs = 1;
                int maxCpus = 1;
                // One pass over the records: everything but the job-size term (which needs the largest job) goes into
                // _base; the second pass runs over two compact arrays.
                Span<double> bases = _base.AsSpan(0, n);
                Span<int> cpuCounts = _cpus.AsSpan(0, n);
                CacheEntry[] cache = _cache;
                double wAge = _options.AgeWeight, wFs = _options.FairShareWeight, maxAge = _options.MaxAge.Ticks;
                bool plain = _maxQos <= 0 && _maxPartition <= 0;
                for (int i = 0; i < records.Length; i++)
                {
                    JobRecord job = records[i];
                    JobSpec spec = job.Spec;
                    string account = spec.Account ?? defaultAccount, user = spec.Owner;
                    if (!ReferenceEquals(account, lastAccount) || !ReferenceEquals(user, lastUser))
                    {
                        // A direct-mapped cache keyed by the strings' identity saves hashing their text per job.
                        int slot = (RuntimeHelpers.GetHashCode(account) * 31 + RuntimeHelpers.GetHashCode(user)) & (CacheSize - 1);
                        ref CacheEntry ce = ref cache[slot];
                        if (ReferenceEquals(ce.Account, account) && ReferenceEquals(ce.User, user)) lastFs = ce.Factor;
                        else if (fs.TryGetFactor(account, user, out lastFs)) ce = new CacheEntry(account, user, lastFs);
                        else { (missing ??= []).Add((account, user)); lastFs = 1; }
                        lastAccount = account; lastUser = user;
                    }
                    ResourceRequest res = spec.Resources;
                    int cpus = res.Cpus * res.Nodes;
                    if (cpus > maxCpus) maxCpus = cpus;
                    cpuCounts[i] = cpus;
                    if (plain)
                    {
                        // the same sum as BasePriority, in the same order, without the QOS and partition lookups
                        long waited = nowTicks - job.SubmittedAt.UtcTicks;
                        double age = waited <= 0 ? 0 : Math.Min(1, waited / maxAge);
                        bases[i] = age * wAge + lastFs * wFs - spec.Nice; // adding the zero QOS and partition terms changes nothing
                    }
                    else bases[i] = BasePriority(spec, job.SubmittedAt.UtcTicks, nowTicks, lastFs);
                }
                if (missing is null)
                {
                    double scale = _options.ClusterCpus > 0 ? _options.ClusterCpus : maxCpus;
                    double lo = double.MaxValue, hi = double.MinValue;
                    Span<double> prio = _base.AsSpan(0, n);
                    for (int i = 0; i < n; i++)
                    {
                        double p = prio[i] + SizeFactor(_cpus[i], scale) * _options.JobSizeWeight;
                        prio[i] = p;
                        if (p < lo) lo = p;
                        if (p > hi) hi = p;
                    }
                    // 32-bit keys: the priority scaled onto [0, 2^32) and inverted (ascending keys = descending
                    // priority). Jobs whose priorities differ by less than one step share a key and are put in exact
                    // order (priority, submit time, id) afterwards.
                    double k = hi > lo ? uint.MaxValue / (hi - lo) : 0;
                    Span<int> hist = _radixCount;
                    hist.Clear();
                    Span<uint> keys = _keys.AsSpan(0, n);
                    for (int i = 0; i < keys.Length; i++)
                    {
                        uint key = uint.MaxValue - (uint)Math.Min(uint.MaxValue, (prio[i] - lo) * k);
                        keys[i] = key;
                        hist[(int)(key & RadixMask)]++;
                        hist[RadixSize + (int)((key >> RadixBits) & RadixMask)]++;
                        hist[2 * RadixSize + (int)(key >> (2 * RadixBits))]++;
                    }
                    break;
                }
                // New associations change their siblings' shares: recompute with them, then key again.
                foreach (var m in missing) _known.Add(m);
                fs = Recompute(now);
                Array.Clear(_cache);
            }
            RadixSort(n);
            // Equal keys: exact priority, then submit time, then id.
            ReadOnlySpan<uint> sorted = _keys.AsSpan(0, n);
            TieComparer? ties = null;
            for (int i = 0; i < n - 1; i++)
            {
                if (sorted[i + 1] != sorted[i]) continue;
                int j = i + 1;
                while (j + 1 < n && sorted[j + 1] == sorted[i]) j++;
                ties ??= new TieComparer(pending, _base);
                if (j == i + 1)
                {
                    if (ties.Compare(_idx[i], _idx[j]) > 0) (_idx[i], _idx[j]) = (_idx[j], _idx[i]);
                }
                else Array.Sort(_idx, i, j - i + 1, ties);
                i = j;
            }
            Span<JobRecord> list = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(pending);
            list.CopyTo(_scratch);
            ReadOnlySpan<int> order = _idx.AsSpan(0, n);
            for (int i = 0; i < n; i++) list[i] = _scratch[order[i]];
            Array.Clear(_scratch, 0, n);
        }
    }

    private FairShareResult CurrentFairShare(DateTimeOffset now) =>
        _fairShare is not null && _ledger.Version == _fairShareVersion ? _fairShare : Recompute(now);

    private FairShareResult Recompute(DateTimeOffset now)
    {
        long version = _ledger.Version;
        // Decay scales every association's usage alike, so normalised usage (and the factors) change only with new usage.
        _fairShare = FairShareCalculator.Compute(_ledger.Options, _algorithm, _ledger.GetUsage(now), _known);
        _fairShareVersion = version;
        return _fairShare;
    }

    // LSD radix sort of (_keys, _idx) by key with the histograms Order counted; a pass whose digit is the same for
    // every key is skipped. The first pass that runs writes the identity permutation's indexes directly.
    private void RadixSort(int n)
    {
        uint[] keys = _keys, tk = _tmpKeys;
        int[] idx = _idx, ti = _tmpIdx;
        bool identity = true;
        for (int pass = 0; pass < 3; pass++)
        {
            int shift = pass * RadixBits;
            Span<int> count = _radixCount.AsSpan(pass * RadixSize, RadixSize);
            if (count[(int)((keys[0] >> shift) & RadixMask)] == n) continue;
            int sum = 0;
            for (int d = 0; d < count.Length; d++) { int c = count[d]; count[d] = sum; sum += c; }
            ReadOnlySpan<uint> src = keys.AsSpan(0, n);
            if (identity)
            {
                for (int i = 0; i < src.Length; i++)
                {
                    uint key = src[i];
                    int pos = count[(int)((key >> shift) & RadixMask)]++;
                    tk[pos] = key;
                    ti[pos] = i;
                }
                identity = false;
            }
            else
            {
                for (int i = 0; i < src.Length; i++)
                {
                    uint key = src[i];
                    int pos = count[(int)((key >> shift) & RadixMask)]++;
                    tk[pos] = key;
                    ti[pos] = idx[i];
                }
            }
            (keys, tk) = (tk, keys);
            (idx, ti) = (ti, idx);
        }
        if (identity) for (int i = 0; i < n; i++) idx[i] = i; // every key equal: the order stays
        _keys = keys; _tmpKeys = tk; _idx = idx; _tmpIdx = ti;
    }

    private sealed class TieComparer(List<JobRecord> jobs, double[] priority) : IComparer<int>
    {
        public int Compare(int x, int y)
        {
            int c = priority[y].CompareTo(priority[x]); // highest first
            if (c != 0) return c;
            JobRecord a = jobs[x], b = jobs[y];
            c = a.SubmittedAt.CompareTo(b.SubmittedAt);
            return c != 0 ? c : string.CompareOrdinal(a.Id, b.Id);
        }
    }

    /// <summary>The priority of one job.</summary>
    public double GetPriority(JobRecord job, QueueOrderingContext context, IReadOnlyList<JobRecord>? pending = null) => Explain(job, context, pending).Priority;

    /// <summary>
    /// Breaks a job's priority down by factor, like <c>sprio</c>. <paramref name="pending"/> is the rest of the queue
    /// (used for the job-size scale when <see cref="MultifactorPriorityOptions.ClusterCpus"/> is 0).
    /// </summary>
    public PriorityExplanation Explain(JobRecord job, QueueOrderingContext context, IReadOnlyList<JobRecord>? pending = null)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(context);
        lock (_gate)
        {
            IReadOnlyList<JobRecord> queue = pending ?? [job];
            FairShareResult fs = EnsureFairShare(queue.Contains(job) ? queue : [.. queue, job], context.Now);
            string account = job.Spec.Account ?? _ledger.Options.DefaultAccount;
            double fsFactor = fs.GetFactor(account, job.Spec.Owner);
            double p = Compute(job, context.Now, fsFactor, SizeScale(queue.Contains(job) ? queue : [.. queue, job]), out double age, out double size, out double qos, out double part);
            return new PriorityExplanation
            {
                JobId = job.Id, Priority = p, Nice = job.Spec.Nice,
                AgeFactor = age, FairShareFactor = fsFactor, JobSizeFactor = size, QosFactor = qos, PartitionFactor = part,
                Age = age * _options.AgeWeight, FairShare = fsFactor * _options.FairShareWeight, JobSize = size * _options.JobSizeWeight,
                Qos = qos * _options.QosWeight, Partition = part * _options.PartitionWeight,
                FairShareDetails = fs.Get(account, job.Spec.Owner),
            };
        }
    }

    private FairShareResult EnsureFairShare(IReadOnlyList<JobRecord> pending, DateTimeOffset now)
    {
        FairShareResult fs = CurrentFairShare(now);
        bool missing = false;
        foreach (JobRecord j in pending)
            if (_known.Add((j.Spec.Account ?? _ledger.Options.DefaultAccount, j.Spec.Owner))) missing = true;
        return missing ? Recompute(now) : fs;
    }

    private double SizeScale(IReadOnlyList<JobRecord> pending)
    {
        if (_options.ClusterCpus > 0) return _options.ClusterCpus;
        int max = 1;
        for (int i = 0; i < pending.Count; i++) max = Math.Max(max, pending[i].Spec.Resources.TotalCpus);
        return max;
    }

    private double Compute(JobRecord job, DateTimeOffset now, double fairShare, double maxCpus,
        out double age, out double size, out double qos, out double partition)
    {
        JobSpec spec = job.Spec;
        age = AgeFactor(job.SubmittedAt.UtcTicks, now.UtcTicks);
        size = SizeFactor(spec.Resources.TotalCpus, maxCpus);
        qos = QosFactor(spec);
        partition = PartitionFactor(spec);
        return BasePriority(spec, job.SubmittedAt.UtcTicks, now.UtcTicks, fairShare) + size * _options.JobSizeWeight;
    }

    // Everything but the job-size term, in the order the sort keys use it.
    private double BasePriority(JobSpec spec, long submittedTicks, long nowTicks, double fairShare) =>
        AgeFactor(submittedTicks, nowTicks) * _options.AgeWeight + fairShare * _options.FairShareWeight
        + QosFactor(spec) * _options.QosWeight + PartitionFactor(spec) * _options.PartitionWeight - spec.Nice;

    private double AgeFactor(long submittedTicks, long nowTicks)
    {
        long waited = nowTicks - submittedTicks;
        return waited <= 0 ? 0 : Math.Min(1, waited / (double)_options.MaxAge.Ticks);
    }

    private double SizeFactor(int cpus, double maxCpus)
    {
        double s = Math.Min(1, cpus / maxCpus);
        return _options.FavorSmallJobs ? 1 - s : s;
    }

    private double QosFactor(JobSpec spec) =>
        _maxQos > 0 && spec.Qos is { } q && _qos.TryGetValue(q, out double qv) ? qv / _maxQos : 0;

    private double PartitionFactor(JobSpec spec) =>
        _maxPartition > 0 && spec.Constraints.Partition is { } pn && _partition.TryGetValue(pn, out double pv) ? pv / _maxPartition : 0;
}

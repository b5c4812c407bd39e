using System.Runtime.CompilerServices;
using System.Collections.Frozen;

namespace CompGrid.Ordering;

/// <summary>
/// Slurm-style multifactor priority: age, fair share, job size, QOS and partition factors, each 0..1, weighted and
/// summed, minus nice; highest first, ties by submit time then job id. Fair share is Slurm's classic
/// <c>F = 2^(-UE/S)</c> (registered as <c>multifactor</c>) or Fair Tree (registered as <c>fair-tree</c>), over usage
/// from a <see cref="FairShareLedger"/> decayed by its half-life. <see cref="Explain"/> breaks a job's priority down
/// like <c>sprio</c>. Ordering keeps per-job figures (association, submit time, nice, CPUs) by position between
/// calls, so a queue that barely changed is keyed, sorted and reordered without reading its job records; given back
/// in the order the last call produced (as the engine passes its kept queue), it is put in order by a bounded insertion
/// sort instead of the radix sort.
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
    // Per queued job, at the job's position in the last input: the record itself and its figures (association's
    // index, submit ticks, nice and CPU count). A record at the same position as last time (or a few further on, after
    // removals) is the same immutable object, so its figures are reused and the ordering reads no JobRecord.
    private JobRecord?[] _input = [];
    private int _inputCount;
    private JobFigures[] _jobs = [];
    private uint[] _keys = [], _tmpKeys = [];
    private int[] _idx = [], _tmpIdx = [];
    // LSD radix sort of the 32-bit keys in three passes of 11, 11 and 10 bits; the three histograms are counted
    // while the keys are made, so the sort reads the keys only to scatter them.
    private const int RadixBits = 11, RadixSize = 1 << RadixBits, RadixMask = RadixSize - 1;
    private readonly int[] _radixCount = new int[3 * RadixSize];
    private const int LookAhead = 8;
    private const int CacheSize = 16384;
    private readonly CacheEntry[] _cache = new CacheEntry[CacheSize];
    // Associations seen in queued jobs, by index; their factors are refilled only when the fair-share result changes.
    private readonly List<(string Account, string User)> _assocs = [];
    private readonly Dictionary<(string, string), int> _assocIndex = [];
    private double[] _factor = [];
    private FairShareResult? _factorSource;
    private int _factorCount;
    // The terms of the current Order call, shared with the tie comparer.
    private long _nowTicks;
    private double _sizeScale, _maxAgeTicks, _ageWeight, _fairShareWeight, _sizeWeight;
    private bool _plain;

    private readonly record struct CacheEntry(string? Account, string? User, int Assoc);

    // What ordering reads of a job, in one 20-byte record: ties are resolved by random access to it, and one cache line
    // per job instead of four made that several times cheaper.
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential, Pack = 4)]
    private readonly record struct JobFigures(long Submit, int Assoc, int Nice, int Cpus);
    private readonly HashSet<(string, string)> _known = [];

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
            Reserve(n);
            DateTimeOffset now = context.Now;
            _nowTicks = now.UtcTicks;
            _plain = _maxQos <= 0 && _maxPartition <= 0;
            _maxAgeTicks = _options.MaxAge.Ticks;
            _ageWeight = _options.AgeWeight; _fairShareWeight = _options.FairShareWeight; _sizeWeight = _options.JobSizeWeight;
            ReadOnlySpan<JobRecord> records = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(pending);
            LoadJobs(records);
            ReadOnlySpan<JobFigures> figures = _jobs.AsSpan(0, n);
            int maxCpus = 1, minNice = 0, maxNice = 0;
            for (int i = 0; i < figures.Length; i++)
            {
                if (figures[i].Cpus > maxCpus) maxCpus = figures[i].Cpus;
                int nice = figures[i].Nice;
                if (nice < minNice) minNice = nice;
                if (nice > maxNice) maxNice = nice;
            }
            _sizeScale = _options.ClusterCpus > 0 ? _options.ClusterCpus : maxCpus;
            FillFactors(now);
            double minFactor = 1, maxFactor = 0;
            foreach (double f in _factor.AsSpan(0, _factorCount)) { minFactor = Math.Min(minFactor, f); maxFactor = Math.Max(maxFactor, f); }

            // 32-bit keys: the priority scaled onto [0, 2^32) and inverted (ascending keys = descending priority).
            // Jobs whose priorities differ by less than one step share a key and are put in exact order (priority,
            // submit time, id) afterwards, so the bounds need only hold every priority, not be its minimum and
            // maximum: they are summed from each term's range, which saves a pass over the jobs.
            double lo = 0, hi = 0;
            void Term(double a, double b) { lo += Math.Min(a, b); hi += Math.Max(a, b); }
            Term(0, _ageWeight);
            Term(minFactor * _fairShareWeight, maxFactor * _fairShareWeight);
            Term(-maxNice, -minNice);
            Term(0, _sizeWeight);
            if (!_plain) { Term(0, _options.QosWeight); Term(0, _options.PartitionWeight); }
            double k = hi > lo ? uint.MaxValue / (hi - lo) : 0;
            Span<int> hist = _radixCount;
            hist.Clear();
            Span<uint> keys = _keys.AsSpan(0, n);
            int descents = 0;
            uint previousKey = 0;
            for (int i = 0; i < keys.Length; i++)
            {
                uint key = uint.MaxValue - (uint)Math.Clamp((PriorityAt(i) - lo) * k, 0, uint.MaxValue);
                keys[i] = key;
                if (key < previousKey) descents++;
                previousKey = key;
                hist[(int)(key & RadixMask)]++;
                hist[RadixSize + (int)((key >> RadixBits) & RadixMask)]++;
                hist[2 * RadixSize + (int)(key >> (2 * RadixBits))]++;
            }
            // The engine passes the queue in the order the last call left it, so between two calls only the jobs whose
            // priorities crossed move: an insertion sort that gives up after a bounded number of moves puts such a
            // queue in order in one pass; any other input takes the radix sort.
            bool nearlySorted = descents <= n / 8 && TryInsertionSort(n, (long)n * 2);
            if (!nearlySorted) RadixSort(n, fromIdentity: descents > n / 8);
            ResolveTies(n);
            Span<JobRecord> list = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(pending);
            ReadOnlySpan<int> order = _idx.AsSpan(0, n);
            JobRecord?[] input = _input;
            for (int i = 0; i < list.Length; i++) list[i] = input[order[i]]!;
            // Only a queue that barely moved: following a random permutation's cycles costs more than it saves once.
            if (nearlySorted) KeepInOutputOrder(list, n);
        }
    }

    // Sorts (_keys, _idx) by key from the identity permutation by insertion; false, leaving a permutation of the pairs
    // (which the radix sort then finishes from), once more than `budget` moves were needed.
    private bool TryInsertionSort(int n, long budget)
    {
        uint[] keys = _keys;
        int[] idx = _idx;
        for (int i = 0; i < n; i++) idx[i] = i;
        for (int i = 1; i < n; i++)
        {
            uint key = keys[i];
            if (key >= keys[i - 1]) continue;
            int id = idx[i], j = i;
            do { keys[j] = keys[j - 1]; idx[j] = idx[j - 1]; j--; } while (j > 0 && keys[j - 1] > key);
            keys[j] = key;
            idx[j] = id;
            budget -= i - j;
            if (budget < 0) return false;
        }
        return true;
    }

    // Moves the per-job figures to the output's positions, so that the next call, given the list as this one left it
    // (as the engine passes its queue), finds every record where it was and reads nothing. Follows the permutation's
    // cycles in place: a queue that barely moved touches only the few positions that did.
    private void KeepInOutputOrder(ReadOnlySpan<JobRecord> list, int n)
    {
        int[] idx = _idx;
        JobFigures[] jobs = _jobs;
        for (int i = 0; i < n; i++)
        {
            if (idx[i] < 0 || idx[i] == i) continue;
            JobFigures first = jobs[i];
            int at = i;
            while (true)
            {
                int from = idx[at];
                idx[at] = ~from; // visited
                if (from == i) { jobs[at] = first; break; }
                jobs[at] = jobs[from];
                at = from;
            }
        }
        ((ReadOnlySpan<JobRecord?>)list).CopyTo(_input); // one bulk copy: no per-element array store check
    }

    private void Reserve(int n)
    {
        if (_keys.Length >= n) return;
        int size = Math.Max(n, _keys.Length * 2);
        // the per-job figures survive a resize, so a growing queue keeps its cache
        Array.Resize(ref _input, size); Array.Resize(ref _jobs, size);
        _keys = new uint[size]; _idx = new int[size]; _tmpKeys = new uint[size]; _tmpIdx = new int[size];
    }

    // Brings the per-job arrays in line with the input: a record found where it was last time (or up to LookAhead
    // places further on, when jobs before it left) moves its figures down to its new position; any other record is
    // read. A new record at a position the last input still has to be matched from ends the reuse (its slot would be
    // overwritten), so an insertion in the middle reads the rest of the queue.
    private void LoadJobs(ReadOnlySpan<JobRecord> records)
    {
        JobRecord?[] input = _input;
        int previous = _inputCount, j = 0;
        bool reuse = true;
        for (int i = 0; i < records.Length; i++)
        {
            JobRecord job = records[i];
            if (reuse)
            {
                int found = -1;
                for (int d = 0; d <= LookAhead && j + d < previous; d++)
                    if (ReferenceEquals(input[j + d], job)) { found = j + d; break; }
                if (found >= 0)
                {
                    if (found != i)
                    {
                        input[i] = job; _jobs[i] = _jobs[found];
                    }
                    j = found + 1;
                    continue;
                }
                if (i >= j) reuse = false;
            }
            Read(i, job);
        }
        if (previous > records.Length) Array.Clear(input, records.Length, previous - records.Length);
        _inputCount = records.Length;
    }

    private void Read(int i, JobRecord job)
    {
        JobSpec spec = job.Spec;
        string account = spec.Account ?? _ledger.Options.DefaultAccount, user = spec.Owner;
        // A direct-mapped cache keyed by the strings' identity saves hashing their text per job.
        int slot = (RuntimeHelpers.GetHashCode(account) * 31 + RuntimeHelpers.GetHashCode(user)) & (CacheSize - 1);
        ref CacheEntry ce = ref _cache[slot];
        if (!ReferenceEquals(ce.Account, account) || !ReferenceEquals(ce.User, user))
        {
            if (!_assocIndex.TryGetValue((account, user), out int a))
            {
                _assocIndex[(account, user)] = a = _assocs.Count;
                _assocs.Add((account, user));
            }
            ce = new CacheEntry(account, user, a);
        }
        ResourceRequest res = spec.Resources;
        _input[i] = job;
        _jobs[i] = new JobFigures(job.SubmittedAt.UtcTicks, ce.Assoc, spec.Nice, res.Cpus * res.Nodes);
    }

    // The factor of every association seen so far, refilled only when the fair-share result changed or associations
    // joined. An association the result lacks changes its siblings' shares: it is added and the factors recomputed.
    private void FillFactors(DateTimeOffset now)
    {
        FairShareResult fs = CurrentFairShare(now);
        if (ReferenceEquals(fs, _factorSource) && _factorCount == _assocs.Count) return;
        if (_factor.Length < _assocs.Count) Array.Resize(ref _factor, Math.Max(_assocs.Count, _factor.Length * 2));
        bool missing = false;
        for (int a = 0; a < _assocs.Count; a++)
            if (!fs.TryGetFactor(_assocs[a].Account, _assocs[a].User, out _factor[a])) { _known.Add(_assocs[a]); missing = true; }
        if (missing)
        {
            fs = Recompute(now);
            for (int a = 0; a < _assocs.Count; a++) _factor[a] = fs.GetFactor(_assocs[a].Account, _assocs[a].User);
        }
        _factorSource = fs;
        _factorCount = _assocs.Count;
    }

    // The exact priority of the job at position i of the input: the same sum, in the same order, as Compute.
    private double PriorityAt(int i)
    {
        ref readonly JobFigures job = ref _jobs[i];
        double fs = _factor[job.Assoc], p;
        if (_plain)
        {
            long waited = _nowTicks - job.Submit;
            double age = waited <= 0 ? 0 : Math.Min(1, waited / _maxAgeTicks);
            p = age * _ageWeight + fs * _fairShareWeight - job.Nice; // the zero QOS and partition terms change nothing
        }
        else p = BasePriority(_input[i]!.Spec, job.Submit, _nowTicks, fs);
        return p + SizeFactor(job.Cpus, _sizeScale) * _sizeWeight;
    }

    // Equal keys: exact priority, then submit time, then id. Keys are mostly unique, so this is one scan.
    private void ResolveTies(int n)
    {
        ReadOnlySpan<uint> sorted = _keys.AsSpan(0, n);
        int[] idx = _idx;
        TieComparer? comparer = null;
        for (int i = 0; i < n - 1; i++)
        {
            if (sorted[i + 1] != sorted[i]) continue;
            int j = i + 1;
            while (j + 1 < n && sorted[j + 1] == sorted[i]) j++;
            if (j == i + 1)
            {
                if (CompareTied(idx[i], idx[j]) > 0) (idx[i], idx[j]) = (idx[j], idx[i]);
            }
            else Array.Sort(idx, i, j - i + 1, comparer ??= new TieComparer(this));
            i = j;
        }
    }

    // Highest priority first, then earliest submit, then id.
    private int CompareTied(int x, int y)
    {
        int c = PriorityAt(y).CompareTo(PriorityAt(x));
        if (c != 0) return c;
        c = _jobs[x].Submit.CompareTo(_jobs[y].Submit);
        return c != 0 ? c : string.CompareOrdinal(_input[x]!.Id, _input[y]!.Id);
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
    // every key is skipped. From the identity permutation (fromIdentity), the first pass that runs writes the indexes
    // directly; otherwise (after an insertion sort gave up) it carries the pairs' indexes.
    private void RadixSort(int n, bool fromIdentity)
    {
        uint[] keys = _keys, tk = _tmpKeys;
        int[] idx = _idx, ti = _tmpIdx;
        bool identity = fromIdentity;
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
        if (identity) for (int i = 0; i < n; i++) idx[i] = i; // every key equal, or no pass ran: the order stays
        _keys = keys; _tmpKeys = tk; _idx = idx; _tmpIdx = ti;
    }

    private sealed class TieComparer(MultifactorPriorityPolicy policy) : IComparer<int>
    {
        public int Compare(int x, int y) => policy.CompareTied(x, y);
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

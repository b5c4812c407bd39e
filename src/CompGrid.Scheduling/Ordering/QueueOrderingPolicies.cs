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
public sealed class MultifactorPriorityPolicy : IQueueOrderingPolicy
{
    /// <summary>The registered name of the classic fair-share variant.</summary>
    public const string ClassicName = "multifactor";

    /// <summary>The registered name of the Fair Tree variant.</summary>
    public const string FairTreeName = "fair-tree";

    private readonly object _gate = new();
    private readonly MultifactorPriorityOptions _options;
    private readonly FairShareLedger _ledger;
    private readonly FairShareAlgorithm _algorithm;
    private readonly double _maxQos, _maxPartition;
    private readonly FrozenDictionary<string, double> _qos, _partition;
    private FairShareResult? _fairShare;
    private long _fairShareVersion = -1;
    private ulong[] _keys = [], _tmpKeys = [];
    private int[] _idx = [], _tmpIdx = [];
    private readonly int[] _radixCount = new int[256];
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
                _keys = new ulong[size]; _idx = new int[size]; _tmpKeys = new ulong[size]; _tmpIdx = new int[size]; _scratch = new JobRecord[size];
            }
            DateTimeOffset now = context.Now;
            FairShareResult fs = CurrentFairShare(now);
            double maxCpus = SizeScale(pending);
            Array.Clear(_cache);
            string defaultAccount = _ledger.Options.DefaultAccount;
            for (int pass = 0; pass < 2; pass++)
            {
                HashSet<(string, string)>? missing = null;
                string? lastAccount = null, lastUser = null;
                double lastFs = 1;
                for (int i = 0; i < n; i++)
                {
                    JobRecord job = pending[i];
                    JobSpec spec = job.Spec;
                    string account = spec.Account ?? defaultAccount, user = spec.Owner;
                    if (!ReferenceEquals(account, lastAccount) || !ReferenceEquals(user, lastUser))
                    {
                        // A direct-mapped cache keyed by the strings' identity saves hashing their text per job.
                        int slot = (RuntimeHelpers.GetHashCode(account) * 31 + RuntimeHelpers.GetHashCode(user)) & (CacheSize - 1);
                        ref CacheEntry ce = ref _cache[slot];
                        if (ReferenceEquals(ce.Account, account) && ReferenceEquals(ce.User, user)) lastFs = ce.Factor;
                        else if (fs.TryGetFactor(account, user, out lastFs)) ce = new CacheEntry(account, user, lastFs);
                        else { (missing ??= []).Add((account, user)); lastFs = 1; }
                        lastAccount = account; lastUser = user;
                    }
                    double p = Compute(job, now, lastFs, maxCpus, out _, out _, out _, out _);
                    _keys[i] = ~Sortable(p); // ascending keys = descending priority
                    _idx[i] = i;
                }
                if (missing is null) break;
                // New associations change their siblings' shares: recompute with them, then key again.
                foreach (var m in missing) _known.Add(m);
                fs = Recompute(now);
                Array.Clear(_cache);
            }
            RadixSort(n);
            // Equal priorities: submit time, then id.
            for (int i = 0; i < n;)
            {
                int j = i;
                while (j + 1 < n && _keys[j + 1] == _keys[i]) j++;
                if (j > i) Array.Sort(_idx, i, j - i + 1, new TieComparer(pending));
                i = j + 1;
            }
            for (int i = 0; i < n; i++) _scratch[i] = pending[_idx[i]];
            for (int i = 0; i < n; i++) pending[i] = _scratch[i];
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

    private static ulong Sortable(double d)
    {
        long b = BitConverter.DoubleToInt64Bits(d);
        return b < 0 ? ~(ulong)b : (ulong)b | 0x8000000000000000UL;
    }

    // LSD radix sort of (_keys, _idx) by key, 8 bits per pass (256 write streams stay in cache); passes where every key
    // has the same digit are skipped.
    private void RadixSort(int n)
    {
        ulong[] keys = _keys, tk = _tmpKeys;
        int[] idx = _idx, ti = _tmpIdx;
        int[] count = _radixCount;
        for (int shift = 0; shift < 64; shift += 8)
        {
            Array.Clear(count);
            for (int i = 0; i < n; i++) count[(int)(keys[i] >> shift) & 0xFF]++;
            if (count[(int)(keys[0] >> shift) & 0xFF] == n) continue;
            int sum = 0;
            for (int d = 0; d < count.Length; d++) { int c = count[d]; count[d] = sum; sum += c; }
            for (int i = 0; i < n; i++)
            {
                int d = (int)(keys[i] >> shift) & 0xFF;
                int pos = count[d]++;
                tk[pos] = keys[i];
                ti[pos] = idx[i];
            }
            (keys, tk) = (tk, keys);
            (idx, ti) = (ti, idx);
        }
        _keys = keys; _tmpKeys = tk; _idx = idx; _tmpIdx = ti;
    }

    private sealed class TieComparer(List<JobRecord> jobs) : IComparer<int>
    {
        public int Compare(int x, int y)
        {
            JobRecord a = jobs[x], b = jobs[y];
            int c = a.SubmittedAt.CompareTo(b.SubmittedAt);
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
        TimeSpan waited = now - job.SubmittedAt;
        age = waited <= TimeSpan.Zero ? 0 : Math.Min(1, waited.TotalSeconds / _options.MaxAge.TotalSeconds);
        double s = Math.Min(1, job.Spec.Resources.TotalCpus / maxCpus);
        size = _options.FavorSmallJobs ? 1 - s : s;
        qos = _maxQos > 0 && job.Spec.Qos is { } q && _qos.TryGetValue(q, out double qv) ? qv / _maxQos : 0;
        partition = _maxPartition > 0 && job.Spec.Constraints.Partition is { } pn && _partition.TryGetValue(pn, out double pv) ? pv / _maxPartition : 0;
        return age * _options.AgeWeight + fairShare * _options.FairShareWeight + size * _options.JobSizeWeight
            + qos * _options.QosWeight + partition * _options.PartitionWeight - job.Spec.Nice;
    }
}

/// <summary>
/// The queue ordering policies known by name: the built-in <c>fifo</c>, <c>priority</c> (nice, then submit time), <c>multifactor</c> (classic fair share) and
/// <c>fair-tree</c>, plus any registered <see cref="IQueueOrderingPolicy"/> (a registered policy with a built-in name
/// replaces it). Names are case-insensitive.
/// </summary>
public sealed class QueueOrderingPolicyRegistry
{
    private readonly FrozenDictionary<string, IQueueOrderingPolicy> _policies;

    /// <summary>Creates the registry. The built-in multifactor policies share <paramref name="ledger"/>.</summary>
    public QueueOrderingPolicyRegistry(IEnumerable<IQueueOrderingPolicy>? additional = null, MultifactorPriorityOptions? priority = null, FairShareLedger? ledger = null)
    {
        ledger ??= new FairShareLedger();
        var all = new Dictionary<string, IQueueOrderingPolicy>(StringComparer.OrdinalIgnoreCase)
        {
            [FifoQueueOrderingPolicy.PolicyName] = new FifoQueueOrderingPolicy(),
            [PriorityQueueOrderingPolicy.PolicyName] = new PriorityQueueOrderingPolicy(),
            [MultifactorPriorityPolicy.ClassicName] = new MultifactorPriorityPolicy(priority, ledger, FairShareAlgorithm.Classic),
            [MultifactorPriorityPolicy.FairTreeName] = new MultifactorPriorityPolicy(priority, ledger, FairShareAlgorithm.FairTree),
        };
        if (additional is not null)
            foreach (IQueueOrderingPolicy p in additional)
            {
                ArgumentException.ThrowIfNullOrWhiteSpace(p.Name, "policy.Name");
                all[p.Name] = p;
            }
        _policies = all.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>The registered names, sorted.</summary>
    public IReadOnlyList<string> Names => [.. _policies.Keys.Order(StringComparer.OrdinalIgnoreCase)];

    /// <summary>Whether a policy with this name exists.</summary>
    public bool Contains(string name) => name is not null && _policies.ContainsKey(name);

    /// <summary>The policy with this name; throws an <see cref="ArgumentException"/> listing the known names when unknown.</summary>
    public IQueueOrderingPolicy Get(string name) =>
        name is not null && _policies.TryGetValue(name, out IQueueOrderingPolicy? p)
            ? p
            : throw new ArgumentException($"Unknown queue ordering policy '{name}'. Known policies: {string.Join(", ", Names)}.", nameof(name));
}

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
    private SortKey[] _keys = [];
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
        lock (_gate) return FairShareFor(now, associations, force: true);
    }

    private FairShareResult FairShareFor(DateTimeOffset now, IEnumerable<(string Account, string User)>? associations, bool force)
    {
        long version = _ledger.Version;
        if (!force && _fairShare is not null && version == _fairShareVersion) return _fairShare;
        // Decay scales every association's usage alike, so normalised usage (and the factors) change only with new usage.
        _fairShare = FairShareCalculator.Compute(_ledger.Options, _algorithm, _ledger.GetUsage(now), associations);
        _fairShareVersion = version;
        return _fairShare;
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
            FairShareResult fs = EnsureFairShare(pending, context.Now);
            double maxCpus = SizeScale(pending);
            if (_keys.Length < n) { _keys = new SortKey[n]; _scratch = new JobRecord[n]; }
            string? lastAccount = null, lastUser = null;
            double lastFs = 1;
            for (int i = 0; i < n; i++)
            {
                JobRecord job = pending[i];
                string account = job.Spec.Account ?? _ledger.Options.DefaultAccount, user = job.Spec.Owner;
                if (!ReferenceEquals(account, lastAccount) || !ReferenceEquals(user, lastUser))
                {
                    lastFs = fs.GetFactor(account, user);
                    lastAccount = account; lastUser = user;
                }
                double p = Compute(job, context.Now, lastFs, maxCpus, out _, out _, out _, out _);
                _keys[i] = new SortKey(p, job.SubmittedAt.UtcTicks, job.Id, i);
            }
            Array.Sort(_keys, 0, n);
            for (int i = 0; i < n; i++) _scratch[i] = pending[_keys[i].Index];
            for (int i = 0; i < n; i++) pending[i] = _scratch[i];
            Array.Clear(_scratch, 0, n);
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
        FairShareResult? fs = _fairShare is not null && _ledger.Version == _fairShareVersion ? _fairShare : null;
        bool missing = fs is null;
        if (!missing)
        {
            string? lastA = null, lastU = null;
            for (int i = 0; i < pending.Count; i++)
            {
                JobRecord j = pending[i];
                string a = j.Spec.Account ?? _ledger.Options.DefaultAccount, u = j.Spec.Owner;
                if (ReferenceEquals(a, lastA) && ReferenceEquals(u, lastU)) continue;
                lastA = a; lastU = u;
                if (fs!.UsersOf(a) is not { } users || !users.ContainsKey(u)) { missing = true; break; }
            }
        }
        if (!missing) return fs!;
        var assoc = new HashSet<(string, string)>();
        foreach (JobRecord j in pending) assoc.Add((j.Spec.Account ?? _ledger.Options.DefaultAccount, j.Spec.Owner));
        if (_fairShare is not null)
            foreach (FairShareAssociation a in _fairShare.Associations) assoc.Add((a.Account, a.User));
        return FairShareFor(now, assoc, force: true);
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

    private readonly struct SortKey(double priority, long submitted, string id, int index) : IComparable<SortKey>
    {
        private readonly double _priority = priority;
        private readonly long _submitted = submitted;
        private readonly string _id = id;
        public readonly int Index = index;

        public int CompareTo(SortKey other)
        {
            int c = other._priority.CompareTo(_priority); // highest first
            if (c != 0) return c;
            c = _submitted.CompareTo(other._submitted);
            return c != 0 ? c : string.CompareOrdinal(_id, other._id);
        }
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

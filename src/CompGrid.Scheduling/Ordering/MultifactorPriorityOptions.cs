namespace CompGrid.Ordering;

/// <summary>
/// Weights and settings of the multifactor priority (like Slurm's <c>PriorityWeight*</c>): a job's priority is the sum
/// of each factor (0..1) times its weight, minus the job's nice value.
/// </summary>
public sealed class MultifactorPriorityOptions
{
    /// <summary>Weight of the age factor (time queued, up to <see cref="MaxAge"/>). The default is 1,000.</summary>
    public double AgeWeight { get; set; } = 1_000;

    /// <summary>Weight of the fair-share factor. The default is 10,000.</summary>
    public double FairShareWeight { get; set; } = 10_000;

    /// <summary>Weight of the job-size factor. The default is 1,000.</summary>
    public double JobSizeWeight { get; set; } = 1_000;

    /// <summary>Weight of the QOS factor. The default is 1,000.</summary>
    public double QosWeight { get; set; } = 1_000;

    /// <summary>Weight of the partition factor. The default is 1,000.</summary>
    public double PartitionWeight { get; set; } = 1_000;

    /// <summary>The age at which the age factor reaches 1 (like <c>PriorityMaxAge</c>). The default is 7 days.</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Whether smaller jobs get the larger job-size factor (like <c>PriorityFavorSmall</c>). The default is <see langword="false"/>.</summary>
    public bool FavorSmallJobs { get; set; }

    /// <summary>The CPU count that gives a job-size factor of 1 (the cluster size); 0 uses the largest pending job. The default is 0.</summary>
    public int ClusterCpus { get; set; }

    /// <summary>Priority of each QOS by name (the factor is the value divided by the largest). Unknown QOS count 0.</summary>
    public IDictionary<string, double> QosPriorities { get; init; } = new Dictionary<string, double>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Priority of each partition by name (the factor is the value divided by the largest). Unknown partitions count 0.</summary>
    public IDictionary<string, double> PartitionPriorities { get; init; } = new Dictionary<string, double>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Checks the settings; returns the problems found (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        void NonNegative(double v, string name) { if (v < 0 || double.IsNaN(v)) errors.Add($"Priority.{name} must not be negative."); }
        NonNegative(AgeWeight, nameof(AgeWeight)); NonNegative(FairShareWeight, nameof(FairShareWeight));
        NonNegative(JobSizeWeight, nameof(JobSizeWeight)); NonNegative(QosWeight, nameof(QosWeight)); NonNegative(PartitionWeight, nameof(PartitionWeight));
        if (MaxAge <= TimeSpan.Zero) errors.Add("Priority.MaxAge must be positive.");
        if (ClusterCpus < 0) errors.Add("Priority.ClusterCpus must not be negative.");
        foreach (var (k, v) in QosPriorities) if (v < 0) errors.Add($"Priority.QosPriorities['{k}'] must not be negative.");
        foreach (var (k, v) in PartitionPriorities) if (v < 0) errors.Add($"Priority.PartitionPriorities['{k}'] must not be negative.");
        return errors;
    }
}

/// <summary>One job's priority broken down by factor, like Slurm's <c>sprio</c>.</summary>
public sealed record PriorityExplanation
{
    /// <summary>The job.</summary>
    public string JobId { get; init; } = "";

    /// <summary>The total priority (the sum of the weighted factors minus nice).</summary>
    public double Priority { get; init; }

    /// <summary>The age factor (0..1).</summary>
    public double AgeFactor { get; init; }

    /// <summary>The fair-share factor (0..1).</summary>
    public double FairShareFactor { get; init; }

    /// <summary>The job-size factor (0..1).</summary>
    public double JobSizeFactor { get; init; }

    /// <summary>The QOS factor (0..1).</summary>
    public double QosFactor { get; init; }

    /// <summary>The partition factor (0..1).</summary>
    public double PartitionFactor { get; init; }

    /// <summary>Weighted age contribution.</summary>
    public double Age { get; init; }

    /// <summary>Weighted fair-share contribution.</summary>
    public double FairShare { get; init; }

    /// <summary>Weighted job-size contribution.</summary>
    public double JobSize { get; init; }

    /// <summary>Weighted QOS contribution.</summary>
    public double Qos { get; init; }

    /// <summary>Weighted partition contribution.</summary>
    public double Partition { get; init; }

    /// <summary>The nice value subtracted.</summary>
    public int Nice { get; init; }

    /// <summary>The fair-share figures behind <see cref="FairShareFactor"/>, when fair share is used.</summary>
    public FairShareAssociation? FairShareDetails { get; init; }

    /// <summary>A header line matching <see cref="ToString"/>.</summary>
    public const string Header = "JOBID                 PRIORITY        AGE  FAIRSHARE    JOBSIZE  PARTITION        QOS   NICE";

    /// <inheritdoc/>
    public override string ToString() =>
        FormattableString.Invariant($"{JobId,-20} {Priority,10:0.##} {Age,10:0.##} {FairShare,10:0.##} {JobSize,10:0.##} {Partition,10:0.##} {Qos,10:0.##} {Nice,6}");
}

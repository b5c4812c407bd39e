namespace CompGrid.Limits;

/// <summary>
/// Limits of one account or user (like Slurm's <c>GrpJobs</c>, <c>GrpSubmitJobs</c> and <c>GrpTRES</c>). Null means
/// no limit.
/// </summary>
public sealed record ResourceLimit
{
    /// <summary>Most jobs running at once.</summary>
    public int? MaxRunningJobs { get; init; }

    /// <summary>Most jobs submitted and not yet ended (queued, awaiting approval or running).</summary>
    public int? MaxSubmittedJobs { get; init; }

    /// <summary>Most CPUs in use by running jobs.</summary>
    public int? MaxCpus { get; init; }

    /// <summary>Most GPUs in use by running jobs.</summary>
    public int? MaxGpus { get; init; }

    /// <summary>Most memory (MiB) in use by running jobs.</summary>
    public long? MaxMemoryMiB { get; init; }
}

/// <summary>Per-account and per-user limits, checked at admission (submitted jobs) and at scheduling (running jobs and resources in use).</summary>
public sealed class ResourceLimitsOptions
{
    /// <summary>Limits by account name.</summary>
    public IDictionary<string, ResourceLimit> Accounts { get; init; } = new Dictionary<string, ResourceLimit>(StringComparer.Ordinal);

    /// <summary>Limits by user name.</summary>
    public IDictionary<string, ResourceLimit> Users { get; init; } = new Dictionary<string, ResourceLimit>(StringComparer.Ordinal);

    /// <summary>Limits for every account not listed in <see cref="Accounts"/>, or null.</summary>
    public ResourceLimit? DefaultAccount { get; set; }

    /// <summary>Limits for every user not listed in <see cref="Users"/>, or null.</summary>
    public ResourceLimit? DefaultUser { get; set; }

    /// <summary>Checks the settings; returns the problems found (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        void Check(string where, ResourceLimit? l)
        {
            if (l is null) return;
            if (l.MaxRunningJobs < 0) errors.Add($"{where}.MaxRunningJobs must not be negative.");
            if (l.MaxSubmittedJobs < 0) errors.Add($"{where}.MaxSubmittedJobs must not be negative.");
            if (l.MaxCpus < 0) errors.Add($"{where}.MaxCpus must not be negative.");
            if (l.MaxGpus < 0) errors.Add($"{where}.MaxGpus must not be negative.");
            if (l.MaxMemoryMiB < 0) errors.Add($"{where}.MaxMemoryMiB must not be negative.");
        }
        foreach (var (k, v) in Accounts) Check($"Limits.Accounts['{k}']", v);
        foreach (var (k, v) in Users) Check($"Limits.Users['{k}']", v);
        Check("Limits.DefaultAccount", DefaultAccount);
        Check("Limits.DefaultUser", DefaultUser);
        return errors;
    }

    /// <summary>The limit that applies to an account, or null.</summary>
    public ResourceLimit? ForAccount(string? account) =>
        account is not null && Accounts.TryGetValue(account, out ResourceLimit? l) ? l : DefaultAccount;

    /// <summary>The limit that applies to a user, or null.</summary>
    public ResourceLimit? ForUser(string user) => Users.TryGetValue(user, out ResourceLimit? l) ? l : DefaultUser;
}

/// <summary>What one account or user has running or submitted.</summary>
internal struct LimitUsage
{
    /// <summary>Running jobs.</summary>
    public int RunningJobs;
    /// <summary>Submitted jobs not yet ended (including running ones).</summary>
    public int SubmittedJobs;
    /// <summary>CPUs in use.</summary>
    public int Cpus;
    /// <summary>GPUs in use.</summary>
    public int Gpus;
    /// <summary>Memory in use (MiB).</summary>
    public long MemoryMiB;
}

/// <summary>
/// Tracks what each account and user has running (built at the start of a scheduling cycle from the running jobs,
/// updated as the cycle starts jobs) and says whether one more job may start within the limits.
/// </summary>
internal sealed class LimitTracker
{
    private readonly ResourceLimitsOptions _options;
    private readonly Dictionary<string, LimitUsage> _accounts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LimitUsage> _users = new(StringComparer.Ordinal);

    /// <summary>Creates a tracker for the given limits.</summary>
    public LimitTracker(ResourceLimitsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        IReadOnlyList<string> errors = options.Validate();
        if (errors.Count > 0) throw new ArgumentException(string.Join(" ", errors), nameof(options));
    }

    /// <summary>The limits.</summary>
    public ResourceLimitsOptions Options => _options;

    /// <summary>Whether any limit is configured (when not, checks are skipped).</summary>
    public bool HasLimits => _options.Accounts.Count > 0 || _options.Users.Count > 0 || _options.DefaultAccount is not null || _options.DefaultUser is not null;

    /// <summary>Forgets all counts.</summary>
    public void Clear() { _accounts.Clear(); _users.Clear(); }

    /// <summary>Counts a running job.</summary>
    public void AddRunning(JobSpec spec, long memoryMiBPerNode)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Add(spec, memoryMiBPerNode, running: true, +1);
    }

    /// <summary>Counts a job that is submitted but not running.</summary>
    public void AddSubmitted(JobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Add(spec, 0, running: false, +1);
    }

    /// <summary>Uncounts a running job.</summary>
    public void RemoveRunning(JobSpec spec, long memoryMiBPerNode)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Add(spec, memoryMiBPerNode, running: true, -1);
    }

    /// <summary>The usage of an account.</summary>
    public LimitUsage AccountUsage(string account) => _accounts.GetValueOrDefault(account);

    /// <summary>The usage of a user.</summary>
    public LimitUsage UserUsage(string user) => _users.GetValueOrDefault(user);

    private void Add(JobSpec spec, long mem, bool running, int sign)
    {
        void Apply(Dictionary<string, LimitUsage> d, string key)
        {
            LimitUsage u = d.GetValueOrDefault(key);
            u.SubmittedJobs += sign;
            if (running)
            {
                u.RunningJobs += sign;
                u.Cpus += sign * spec.Resources.TotalCpus;
                u.Gpus += sign * spec.Resources.TotalGpus;
                u.MemoryMiB += sign * mem * spec.Resources.Nodes;
            }
            d[key] = u;
        }
        if (spec.Account is not null) Apply(_accounts, spec.Account);
        Apply(_users, spec.Owner);
    }

    /// <summary>Whether one more running job of <paramref name="spec"/> stays within the limits; otherwise the reason.</summary>
    public bool CanStart(JobSpec spec, long memoryMiBPerNode, out string? reason)
    {
        ArgumentNullException.ThrowIfNull(spec);
        reason = null;
        if (!HasLimits) return true;
        return CheckRunning("account", spec.Account, spec.Account is null ? null : _options.ForAccount(spec.Account), spec.Account is null ? default : _accounts.GetValueOrDefault(spec.Account), spec, memoryMiBPerNode, ref reason)
            && CheckRunning("user", spec.Owner, _options.ForUser(spec.Owner), _users.GetValueOrDefault(spec.Owner), spec, memoryMiBPerNode, ref reason);
    }

    private static bool CheckRunning(string kind, string? name, ResourceLimit? l, LimitUsage u, JobSpec spec, long mem, ref string? reason)
    {
        if (l is null) return true;
        ResourceRequest r = spec.Resources;
        if (u.RunningJobs + 1 > l.MaxRunningJobs) reason = $"{kind} '{name}' has {u.RunningJobs} running jobs (limit {l.MaxRunningJobs})";
        else if (u.Cpus + r.TotalCpus > l.MaxCpus) reason = $"{kind} '{name}' would use {u.Cpus + r.TotalCpus} CPUs (limit {l.MaxCpus})";
        else if (u.Gpus + r.TotalGpus > l.MaxGpus) reason = $"{kind} '{name}' would use {u.Gpus + r.TotalGpus} GPUs (limit {l.MaxGpus})";
        else if (u.MemoryMiB + mem * r.Nodes > l.MaxMemoryMiB) reason = $"{kind} '{name}' would use {u.MemoryMiB + mem * r.Nodes} MiB of memory (limit {l.MaxMemoryMiB} MiB)";
        return reason is null;
    }

    /// <summary>
    /// Whether a job whose total exceeds a running limit on its own can never start (it would wait forever); the reason
    /// names the limit.
    /// </summary>
    public bool CanEverStart(JobSpec spec, long memoryMiBPerNode, out string? reason)
    {
        ArgumentNullException.ThrowIfNull(spec);
        reason = null;
        return CheckRunning("account", spec.Account, spec.Account is null ? null : _options.ForAccount(spec.Account), default, spec, memoryMiBPerNode, ref reason)
            && CheckRunning("user", spec.Owner, _options.ForUser(spec.Owner), default, spec, memoryMiBPerNode, ref reason);
    }
}

/// <summary>
/// The admission side of the limits: rejects a job when its account or user already has
/// <see cref="ResourceLimit.MaxSubmittedJobs"/> jobs submitted, or when the job alone exceeds a running limit (it could
/// never start). Counts active jobs through a callback (the engine's job store).
/// </summary>
internal sealed class ResourceLimitsAdmissionCheck : IAdmissionCheck
{
    private readonly ResourceLimitsOptions _options;
    private readonly Func<string?, string, CancellationToken, ValueTask<(int AccountJobs, int UserJobs)>> _countActive;

    /// <summary>
    /// Creates the check. <paramref name="countActive"/> returns how many jobs the account and the user have submitted
    /// and not ended (queued, awaiting approval or running).
    /// </summary>
    public ResourceLimitsAdmissionCheck(ResourceLimitsOptions options, Func<string?, string, CancellationToken, ValueTask<(int AccountJobs, int UserJobs)>> countActive)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(countActive);
        IReadOnlyList<string> errors = options.Validate();
        if (errors.Count > 0) throw new ArgumentException(string.Join(" ", errors), nameof(options));
        _options = options;
        _countActive = countActive;
    }

    /// <summary>Creates the check counting active jobs in a job store.</summary>
    public ResourceLimitsAdmissionCheck(ResourceLimitsOptions options, IJobStore store)
        : this(options, (account, user, ct) => CountInStoreAsync(store, account, user, ct))
    {
    }

    /// <summary>The machine-readable code of a limit rejection.</summary>
    public const string Code = CompGridErrorCodes.Limit;

    /// <inheritdoc/>
    public async ValueTask<AdmissionResult> CheckAsync(AdmissionContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        JobSpec spec = context.Spec;
        ResourceLimit? acc = spec.Account is null ? null : _options.ForAccount(spec.Account);
        ResourceLimit? usr = _options.ForUser(spec.Owner);
        if (acc is null && usr is null) return AdmissionResult.Admit();
        var tracker = new LimitTracker(_options);
        if (!tracker.CanEverStart(spec, context.MemoryMiBPerNode, out string? never))
            return AdmissionResult.Reject($"The job can never start: {never}.", Code);
        if (acc?.MaxSubmittedJobs is null && usr?.MaxSubmittedJobs is null) return AdmissionResult.Admit();
        (int accountJobs, int userJobs) = await _countActive(spec.Account, spec.Owner, cancellationToken).ConfigureAwait(false);
        if (acc?.MaxSubmittedJobs is { } am && accountJobs + 1 > am)
            return AdmissionResult.Reject($"Account '{spec.Account}' already has {accountJobs} submitted jobs (limit {am}).", Code);
        if (usr?.MaxSubmittedJobs is { } um && userJobs + 1 > um)
            return AdmissionResult.Reject($"User '{spec.Owner}' already has {userJobs} submitted jobs (limit {um}).", Code);
        return AdmissionResult.Admit();
    }

    private static async ValueTask<(int, int)> CountInStoreAsync(IJobStore store, string? account, string user, CancellationToken ct)
    {
        int a = 0, u = 0;
        var states = new[] { JobState.AwaitingApproval, JobState.Queued, JobState.Running };
        if (account is not null)
            await foreach (JobRecord _ in store.QueryAsync(new JobQuery { Account = account, States = states, Limit = int.MaxValue }, ct).ConfigureAwait(false)) a++;
        await foreach (JobRecord _ in store.QueryAsync(new JobQuery { Owner = user, States = states, Limit = int.MaxValue }, ct).ConfigureAwait(false)) u++;
        return (a, u);
    }
}

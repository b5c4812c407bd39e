using System.Globalization;

namespace CompGrid.Policy;

/// <summary>
/// The built-in <see cref="IJobPolicy"/>: the caller's allowances from <see cref="JobPolicyOptions"/> (their roles'
/// rules or the default, plus the grant's), then one check per field. Pure: no I/O, no clock.
/// </summary>
internal sealed class RuleBasedJobPolicy(JobPolicyOptions options) : IJobPolicy
{
    public ValueTask<JobPolicyDecision> EvaluateAsync(JobPolicyContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        return ValueTask.FromResult(Evaluate(context));
    }

    internal JobPolicyDecision Evaluate(JobPolicyContext context)
    {
        JobCaller caller = context.Caller;
        if (options.UnrestrictedRoles.Any(caller.IsInRole)) return JobPolicyDecision.Allow();

        var rules = new List<(string Source, JobPolicyRule Rule)>();
        foreach (var (role, rule) in options.Roles)
            if (caller.IsInRole(role)) rules.Add(($"role '{role}'", rule));
        if (rules.Count == 0) rules.Add(("the default rule", options.Default));
        if (context.Spec.Account is { } account && options.Grants.TryGetValue(account, out var grantRule)) rules.Add(($"grant '{account}'", grantRule));
        var allowed = Allowance.Of(rules.Select(r => r.Rule));
        string by = $"for {caller.Name} ({string.Join(" + ", rules.Select(r => r.Source))})";

        var violations = new List<PolicyViolation>();
        void Deny(string field, string reason) => violations.Add(new PolicyViolation(field, $"{reason} {by}"));
        JobSpec spec = context.Spec;

        if (spec.Nice < allowed.MinNice) Deny("nice", $"must be at least {allowed.MinNice}");
        if (spec.Qos is { } qos && !allowed.Qos.Allows(qos)) Deny("qos", $"'{qos}' is not allowed; {allowed.Qos.Describe("the default QOS")}");
        if (spec.Constraints?.Partition is { } partition && !allowed.Partitions.Allows(partition))
            Deny("constraints.partition", $"'{partition}' is not allowed; {allowed.Partitions.Describe("the default partition")}");
        if (spec.Constraints?.Backend is { } backend && !allowed.Backends.Allows(backend))
            Deny("constraints.backend", $"'{backend}' is not allowed; {allowed.Backends.Describe("the backend the engine routes to")}");
        if (spec.Payload is { Kind: PayloadKind.Container } container)
        {
            string registry = ImageReference.RegistryOf(container.Image ?? "");
            if (!allowed.Registries.Allows(registry)) Deny("payload.image", $"registry '{registry}' is not allowed; {allowed.Registries.Describe("no container images")}");
            if (container.Network && !allowed.ContainerNetwork) Deny("payload.network", "a container network is not allowed");
        }

        ResourceRequest r = spec.Resources;
        // Validation bounds every factor, so these products fit in a long.
        long cpus = (long)r.Cpus * r.Nodes, gpus = (long)r.Gpus * r.Nodes;
        long memory = (context.MemoryMiBPerNode ?? r.MemoryMiB) * r.Nodes;
        if (allowed.MaxCpus is { } maxCpus && cpus > maxCpus) Deny("resources.cpus", $"cpus × nodes = {cpus} is more than the {maxCpus} allowed");
        if (allowed.MaxNodes is { } maxNodes && r.Nodes > maxNodes) Deny("resources.nodes", $"{r.Nodes} nodes is more than the {maxNodes} allowed");
        if (allowed.MaxGpus is { } maxGpus && gpus > maxGpus) Deny("resources.gpus", $"gpus × nodes = {gpus} is more than the {maxGpus} allowed");
        if (allowed.MaxMemoryMiB is { } maxMemory && memory > maxMemory)
            Deny("resources.memoryMiB", $"memory × nodes = {memory} MiB is more than the {maxMemory} MiB allowed");
        if (allowed.MaxWalltime is { } maxWalltime && (context.Walltime ?? spec.Walltime) is { } walltime && walltime > maxWalltime)
            Deny("walltime", $"{walltime.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s is more than the {maxWalltime.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s allowed");

        return violations.Count == 0 ? JobPolicyDecision.Allow() : JobPolicyDecision.Deny(violations);
    }

    /// <summary>The union of several rules: the most any of them allows.</summary>
    private sealed record Allowance(int MinNice, NameSet Qos, NameSet Partitions, NameSet Backends, NameSet Registries, bool ContainerNetwork,
        long? MaxCpus, long? MaxMemoryMiB, long? MaxGpus, long? MaxNodes, TimeSpan? MaxWalltime)
    {
        public static Allowance Of(IEnumerable<JobPolicyRule> rules)
        {
            var list = rules.ToList();
            return new Allowance(
                list.Min(r => r.MinNice),
                NameSet.Union(list.Select(r => r.AllowedQos), StringComparer.Ordinal),
                NameSet.Union(list.Select(r => r.AllowedPartitions), StringComparer.Ordinal),
                NameSet.Union(list.Select(r => r.AllowedBackends), StringComparer.Ordinal),
                NameSet.Union(list.Select(r => r.AllowedRegistries), StringComparer.OrdinalIgnoreCase),
                list.Any(r => r.AllowContainerNetwork),
                Largest(list.Select(r => (long?)r.MaxCpus)),
                Largest(list.Select(r => r.MaxMemoryMiB)),
                Largest(list.Select(r => (long?)r.MaxGpus)),
                Largest(list.Select(r => (long?)r.MaxNodes)),
                list.Any(r => r.MaxWalltime is null) ? null : list.Max(r => r.MaxWalltime));
        }

        // A rule without a limit allows any size, so it wins the union.
        private static long? Largest(IEnumerable<long?> limits)
        {
            long? max = long.MinValue;
            foreach (long? l in limits) max = l is null ? null : max is null ? null : Math.Max(max.Value, l.Value);
            return max;
        }
    }

    private sealed class NameSet
    {
        private readonly HashSet<string> _names;
        private readonly bool _any;

        private NameSet(HashSet<string> names)
        {
            _any = names.Contains("*");
            _names = names;
        }

        public static NameSet Union(IEnumerable<IList<string>> lists, StringComparer comparer) => new(new HashSet<string>(lists.SelectMany(l => l), comparer));

        public bool Allows(string name) => _any || _names.Contains(name);

        public string Describe(string none) =>
            _names.Count == 0 ? $"only {none} is allowed" : $"allowed: {string.Join(", ", _names.Order(StringComparer.Ordinal))}";
    }
}

/// <summary>Reads the registry out of a container image reference, the way Docker does.</summary>
internal static class ImageReference
{
    /// <summary>The default registry of images named without one.</summary>
    public const string DefaultRegistry = "docker.io";

    /// <summary>
    /// The registry of <paramref name="image"/>: its first path component when that has a dot or a colon or is
    /// <c>localhost</c> (<c>ghcr.io/x/y</c>, <c>127.0.0.1:5000/y</c>); otherwise <see cref="DefaultRegistry"/>.
    /// </summary>
    public static string RegistryOf(string image)
    {
        int slash = image.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0) return DefaultRegistry;
        string first = image[..slash];
        return first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost" ? first : DefaultRegistry;
    }
}

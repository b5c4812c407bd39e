namespace CompGrid.Policy;

/// <summary>
/// The rules of the built-in job policy (<see cref="JobPolicy.Create"/>, <c>AddJobPolicy</c>). Bind from a
/// configuration section (the sample host uses <c>CompGrid:Policy</c>); validated at start-up by
/// <see cref="JobPolicyOptionsValidator"/>.
/// </summary>
/// <remarks>
/// <para>Every rule is an allowance. A caller with one of <see cref="UnrestrictedRoles"/> may ask for anything. Any
/// other caller gets the union of the rules of their roles named in <see cref="Roles"/> (or <see cref="Default"/> when
/// they have none of them), plus the rule of the grant the job is charged to (<see cref="Grants"/>), so a grant can
/// entitle its members to more (GPUs, a QOS) than their role gives. The grant's own membership check (billing's
/// <c>not-a-member</c>) still decides whether the owner may charge it.</para>
/// <para>Lists bound from configuration are appended to, so they all start empty.</para>
/// </remarks>
public sealed class JobPolicyOptions
{
    /// <summary>Roles whose members may ask for anything (administrators). <value>The default is empty.</value></summary>
    public IList<string> UnrestrictedRoles { get; } = new List<string>();

    /// <summary>
    /// The rule for callers who have none of the roles in <see cref="Roles"/>.
    /// <value>The default is a new <see cref="JobPolicyRule"/>: nice at least 0, no QOS, partition, backend or
    /// registry choice, no container network, no size limit beyond the engine's.</value>
    /// </summary>
    public JobPolicyRule Default { get; set; } = new();

    /// <summary>Rules by role name (ordinal). <value>The default is empty.</value></summary>
    public IDictionary<string, JobPolicyRule> Roles { get; } = new Dictionary<string, JobPolicyRule>(StringComparer.Ordinal);

    /// <summary>Extra allowances by grant code (ordinal), for jobs charged to that grant. <value>The default is empty.</value></summary>
    public IDictionary<string, JobPolicyRule> Grants { get; } = new Dictionary<string, JobPolicyRule>(StringComparer.Ordinal);
}

/// <summary>
/// What a caller may ask for. A field left unset in a job (no QOS, no partition, no backend) always means the
/// engine's default and is always allowed; the lists say which explicit choices are allowed besides it, <c>*</c>
/// meaning any. Size limits are for the whole job (all nodes); null means no limit beyond the engine's own.
/// </summary>
public sealed class JobPolicyRule
{
    /// <summary>The lowest <see cref="JobSpec.Nice"/> allowed (negative values raise priority). <value>The default is 0.</value></summary>
    public int MinNice { get; set; }

    /// <summary>QOS names the caller may ask for (<c>*</c>: any). <value>The default is empty: only the default QOS.</value></summary>
    public IList<string> AllowedQos { get; } = new List<string>();

    /// <summary>Partitions the caller may name (<c>*</c>: any). <value>The default is empty: only the default partition.</value></summary>
    public IList<string> AllowedPartitions { get; } = new List<string>();

    /// <summary>Backends the caller may name (<c>*</c>: any). <value>The default is empty: only where the engine routes the job.</value></summary>
    public IList<string> AllowedBackends { get; } = new List<string>();

    /// <summary>
    /// Registries container images may come from, compared case-insensitively (<c>docker.io</c> for images named
    /// without a registry; <c>*</c>: any). <value>The default is empty: no container payloads.</value>
    /// </summary>
    public IList<string> AllowedRegistries { get; } = new List<string>();

    /// <summary>Whether containers may have a network. <value>The default is <see langword="false"/>.</value></summary>
    public bool AllowContainerNetwork { get; set; }

    /// <summary>The most CPUs of a job (per node × nodes). <value>The default is null: no limit.</value></summary>
    public int? MaxCpus { get; set; }

    /// <summary>The most memory of a job (per node × nodes), in MiB. <value>The default is null: no limit.</value></summary>
    public long? MaxMemoryMiB { get; set; }

    /// <summary>The most GPUs of a job (per node × nodes). <value>The default is null: no limit.</value></summary>
    public int? MaxGpus { get; set; }

    /// <summary>The most nodes of a job. <value>The default is null: no limit.</value></summary>
    public int? MaxNodes { get; set; }

    /// <summary>The longest walltime (after the engine's default). <value>The default is null: the engine's maximum.</value></summary>
    public TimeSpan? MaxWalltime { get; set; }
}

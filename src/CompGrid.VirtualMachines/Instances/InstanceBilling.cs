namespace CompGrid.VirtualMachines;

/// <summary>
/// How leased instances are paid for, through the same contracts jobs use: a hold placed for each metering period
/// before it starts (<see cref="Funding"/>, for example grant billing's admission check) and the period's usage record
/// delivered when it ends (<see cref="UsageSinks"/>, for example grant billing's usage sink). The record's job id is the
/// period's key (<see cref="VirtualMachineInstance.ChargeKey"/>), its backend the service name and its partition the
/// template, so a rate card prices each size with a rule for that backend and partition.
/// </summary>
public sealed class InstanceBilling
{
    /// <summary>Places (and on refusal, withholds) the hold of each period; null to run without holds (nothing is then billed by grant billing, which charges only held periods).</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public IAdmissionCheck? Funding { get; set; }

    /// <summary>Receive each closed period's usage record, at least once; they must be idempotent by job id.</summary>
    /// <value>The default is empty.</value>
    public IList<IUsageSink> UsageSinks { get; set; } = [];
}

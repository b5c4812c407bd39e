namespace CompGrid.Billing;

/// <summary>Quotes a job at admission and places a hold on its grant; refuses non-members and jobs the grant cannot afford.</summary>
internal sealed class GrantBillingAdmissionCheck(GrantBillingService billing) : IAdmissionCheck
{
    public ValueTask<AdmissionResult> CheckAsync(AdmissionContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new ValueTask<AdmissionResult>(billing.CheckAndHoldAsync(context, cancellationToken));
    }

    public async ValueTask ReleaseAsync(AdmissionContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        await billing.ReleaseHoldAsync(context.JobId, "refused by a later admission check", cancellationToken).ConfigureAwait(false);
    }

    public override string ToString() => "grant-billing";
}

/// <summary>Charges finished jobs from their usage records (idempotent by job id).</summary>
internal sealed class GrantBillingUsageSink(GrantBillingService billing) : IUsageSink
{
    public async ValueTask RecordAsync(UsageRecord usage, CancellationToken cancellationToken = default) =>
        await billing.ChargeAsync(usage, cancellationToken).ConfigureAwait(false);

    public override string ToString() => "grant-billing";
}

using Microsoft.Extensions.Logging;

namespace CompGrid.Billing;

/// <summary>
/// Builds grant billing without dependency injection (scripts, tests):
/// <code>
/// var billing = GrantBilling.Create(new InMemoryBillingStore(), new GrantBillingOptions { RateCards = { RateCard.PerCpuHour(0.05m, "EUR") } });
/// // hand billing.AdmissionCheck and billing.UsageSink to the engine builder
/// </code>
/// </summary>
public static class GrantBilling
{
    /// <summary>The billing service over <paramref name="store"/> (the options are validated here).</summary>
    public static GrantBillingService Create(IBillingStore store, GrantBillingOptions options, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null) =>
        new(store, options, timeProvider, loggerFactory?.CreateLogger<GrantBillingService>());

    /// <summary>The billing service over <paramref name="store"/>, configured by <paramref name="configure"/>.</summary>
    public static GrantBillingService Create(IBillingStore store, Action<GrantBillingOptions> configure, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var options = new GrantBillingOptions();
        configure(options);
        return Create(store, options, timeProvider, loggerFactory);
    }
}

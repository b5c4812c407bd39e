using Microsoft.Extensions.Options;

namespace CompGrid.EmbeddedPortal.Admission;

/// <summary>The office-hours rule (<c>Portal:OfficeHours</c>).</summary>
public sealed class OfficeHoursOptions
{
    /// <summary>The first office hour, in the clock's local time zone.</summary>
    /// <value>The default is 8.</value>
    public int Start { get; set; } = 8;

    /// <summary>The hour office hours end (exclusive).</summary>
    /// <value>The default is 18.</value>
    public int End { get; set; } = 18;

    /// <summary>Jobs asking for more minutes than this, submitted on a weekday in office hours, wait for an approver.</summary>
    /// <value>The default is 60.</value>
    public int LongJobMinutes { get; set; } = 60;
}

/// <summary>
/// Long jobs submitted during office hours wait for an approver (the machines are shared with teaching then).
/// The time comes from the injected <see cref="TimeProvider"/>, so a test drives it with a manual clock.
/// </summary>
internal sealed class OfficeHoursCheck(TimeProvider time, IOptions<OfficeHoursOptions> options) : IAdmissionCheck
{
    public ValueTask<AdmissionResult> CheckAsync(AdmissionContext context, CancellationToken cancellationToken = default)
    {
        var o = options.Value;
        var now = time.GetLocalNow();
        bool officeHours = now.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday) && now.Hour >= o.Start && now.Hour < o.End;
        return ValueTask.FromResult(officeHours && context.Walltime > TimeSpan.FromMinutes(o.LongJobMinutes)
            ? AdmissionResult.WaitForApproval($"jobs over {o.LongJobMinutes} min submitted in office hours ({o.Start}:00-{o.End}:00, weekdays) need an approver")
            : AdmissionResult.Admit());
    }
}

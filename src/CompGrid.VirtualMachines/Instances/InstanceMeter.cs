namespace CompGrid.VirtualMachines;

/// <summary>A metering period that has ended: its number, window and the running (not suspended) time inside it.</summary>
internal readonly record struct ClosedPeriod(int Number, DateTimeOffset Start, DateTimeOffset End, TimeSpan Running);

/// <summary>
/// The metering rule of leased instances, in one pure place. Time is cut into periods of a fixed length that open when
/// the instance starts running (or resumes with no period open). A period's charge is its running time — time
/// suspended or stopped does not count — and it is closed once: at its end, or earlier when the instance stops. A period
/// that ends while the instance is running is followed at once by the next; one that ends while it is suspended is
/// not, and the next opens on resume. Only instants the engine read from its own clock enter the computation.
/// </summary>
internal static class InstanceMeter
{
    /// <summary>The running time of the open period up to <paramref name="at"/>.</summary>
    public static TimeSpan RunningUntil(VirtualMachineInstance i, DateTimeOffset at) =>
        i.PeriodRunning + (i.RunningSince is { } since && i.PeriodStart is { } start && at > Max(since, start) ? at - Max(since, start) : TimeSpan.Zero);

    /// <summary>Closes the open period if it has ended by <paramref name="now"/>; otherwise returns null.</summary>
    public static (VirtualMachineInstance Next, ClosedPeriod Closed)? CloseIfEnded(VirtualMachineInstance i, DateTimeOffset now, TimeSpan length)
    {
        if (i.PeriodStart is not { } start || now < start + length) return null;
        var end = start + length;
        var closed = new ClosedPeriod(i.Period, start, end, RunningUntil(i, end));
        bool running = i.RunningSince is not null;
        var next = i with
        {
            Period = i.Period + 1,
            PeriodStart = running ? end : null,
            PeriodRunning = TimeSpan.Zero,
            RunningSince = running ? Max(i.RunningSince!.Value, end) : null,
            MeteredTime = i.MeteredTime + closed.Running,
        };
        return (next, closed);
    }

    /// <summary>Closes the open period early at <paramref name="now"/> (the instance stops); null when none is open.</summary>
    public static (VirtualMachineInstance Next, ClosedPeriod Closed)? CloseNow(VirtualMachineInstance i, DateTimeOffset now)
    {
        if (i.PeriodStart is not { } start) return null;
        var end = Max(now, start);
        var closed = new ClosedPeriod(i.Period, start, end, RunningUntil(i, end));
        return (i with { Period = i.Period + 1, PeriodStart = null, PeriodRunning = TimeSpan.Zero, RunningSince = null, MeteredTime = i.MeteredTime + closed.Running }, closed);
    }

    /// <summary>The meter stops (suspend): the running time so far is kept in the open period.</summary>
    public static VirtualMachineInstance Pause(VirtualMachineInstance i, DateTimeOffset now) =>
        i.RunningSince is null ? i : i with { PeriodRunning = RunningUntil(i, now), RunningSince = null };

    /// <summary>The meter runs from <paramref name="now"/> (start, resume), opening a period when none is open.</summary>
    public static VirtualMachineInstance Run(VirtualMachineInstance i, DateTimeOffset now) =>
        i with { PeriodStart = i.PeriodStart ?? now, RunningSince = now };

    /// <summary>Whether running from now on needs a new period (and so a new hold).</summary>
    public static bool NeedsPeriod(VirtualMachineInstance i) => i.PeriodStart is null;

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}

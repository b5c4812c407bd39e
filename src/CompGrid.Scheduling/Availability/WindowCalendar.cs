namespace CompGrid.Scheduling.Availability;

/// <summary>
/// One pool's weekly windows turned into instants: the one place where local times of day become UTC. A window opening
/// on day D at Start closes at End on D, or on D+1 when End is not after Start. Daylight-saving rules come from
/// <see cref="TimeZoneInfo"/>: a local time the clock skips (spring forward) is taken as the moment the clock jumps; one
/// that occurs twice (fall back) is taken at its first occurrence. Overlapping or touching windows join into one open
/// interval, so a weekend window and the Friday night before it are one stretch.
/// </summary>
internal sealed class WindowCalendar(IReadOnlyList<AvailabilityWindowOptions> windows, TimeZoneInfo zone)
{
    // Windows last at most a day and start at most a week apart: two days back cover a window open at 'from'.
    private static readonly TimeSpan Lookback = TimeSpan.FromDays(2);

    public TimeZoneInfo Zone => zone;

    /// <summary>The open intervals (UTC, sorted, joined) that meet [<paramref name="from"/>, <paramref name="to"/>).</summary>
    public List<(DateTimeOffset Start, DateTimeOffset End)> Intervals(DateTimeOffset from, DateTimeOffset to)
    {
        var raw = new List<(DateTimeOffset Start, DateTimeOffset End)>();
        DateTime first = TimeZoneInfo.ConvertTime(from - Lookback, zone).Date;
        DateTime last = TimeZoneInfo.ConvertTime(to, zone).Date;
        for (DateTime day = first; day <= last; day = day.AddDays(1))
        {
            foreach (var w in windows)
            {
                if (!w.Days.Contains(day.DayOfWeek)) continue;
                DateTime startLocal = day + w.Start;
                DateTime endLocal = (w.End <= w.Start ? day.AddDays(1) : day) + w.End;
                var start = ToUtc(startLocal);
                var end = ToUtc(endLocal);
                if (end > start && end > from && start < to) raw.Add((start, end));
            }
        }
        raw.Sort((a, b) => a.Start.CompareTo(b.Start));
        var joined = new List<(DateTimeOffset Start, DateTimeOffset End)>(raw.Count);
        foreach (var r in raw)
        {
            if (joined.Count > 0 && r.Start <= joined[^1].End)
            {
                if (r.End > joined[^1].End) joined[^1] = (joined[^1].Start, r.End);
            }
            else joined.Add(r);
        }
        return joined;
    }

    /// <summary>A local wall-clock time of the pool's zone as an instant, by the rules in the summary.</summary>
    public DateTimeOffset ToUtc(DateTime local)
    {
        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        if (zone.IsInvalidTime(local))
        {
            // Skipped by a spring-forward change: move to the first minute that exists, which is when the clock jumped.
            var t = new DateTime(local.Ticks - (local.Ticks % TimeSpan.TicksPerMinute), DateTimeKind.Unspecified);
            while (zone.IsInvalidTime(t)) t = t.AddMinutes(1);
            local = t;
        }
        if (zone.IsAmbiguousTime(local))
        {
            // Occurs twice: the first occurrence is the one with the larger offset (the earlier instant).
            var offsets = zone.GetAmbiguousTimeOffsets(local);
            return new DateTimeOffset(local, offsets.Max());
        }
        return new DateTimeOffset(local, zone.GetUtcOffset(local));
    }
}

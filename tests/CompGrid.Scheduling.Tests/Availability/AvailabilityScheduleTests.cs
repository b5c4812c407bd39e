using CompGrid.Scheduling.Availability;

namespace CompGrid.Scheduling.Tests.Availability;

/// <summary>The calendar of availability windows: midnight, weekends, daylight saving, validation.</summary>
[Trait("Category", "Scheduling")]
public sealed class AvailabilityScheduleTests
{
    private static readonly DayOfWeek[] Weekdays = [DayOfWeek.Monday, DayOfWeek.Tuesday, DayOfWeek.Wednesday, DayOfWeek.Thursday, DayOfWeek.Friday];

    private static DateTimeOffset Utc(int month, int day, int hour, int minute = 0, int year = 2026) => new(year, month, day, hour, minute, 0, TimeSpan.Zero);

    private static AvailabilitySchedule Lab(string zone = "UTC", params AvailabilityWindowOptions[] windows) =>
        AvailabilitySchedule.Create(new AvailabilityOptions { Pools = [new NodePoolOptions { Name = "lab", Backend = "b", TimeZone = zone, Windows = [.. windows] }] });

    private static AvailabilityWindowOptions Window(TimeSpan start, TimeSpan end, params DayOfWeek[] days) => new() { Days = [.. days], Start = start, End = end };

    private static AvailabilitySchedule Nights(string zone = "UTC") => Lab(zone, Window(TimeSpan.FromHours(20), TimeSpan.FromHours(7), Weekdays));

    [Fact]
    public void IsOpen_NightWindowCrossingMidnight_OpenFromStartToNextMorning()
    {
        var s = Nights();   // 2026-12-07 is a Monday
        Assert.False(s.IsOpen("b", "n1", Utc(12, 7, 19, 59)));
        Assert.True(s.IsOpen("b", "n1", Utc(12, 7, 20)));
        Assert.True(s.IsOpen("b", "n1", Utc(12, 8, 6, 59)));
        Assert.False(s.IsOpen("b", "n1", Utc(12, 8, 7)));
        Assert.Equal(Utc(12, 8, 7), s.UsableUntil("b", "n1", Utc(12, 7, 23)));
        Assert.Equal(Utc(12, 8, 12), s.UsableUntil("b", "n1", Utc(12, 8, 12)));   // closed: nothing may run from now
    }

    [Fact]
    public void UsableUntil_FridayNightThenWeekend_JoinsIntoOneStretchUntilMonday()
    {
        var s = Lab("UTC",
            Window(TimeSpan.FromHours(20), TimeSpan.FromHours(7), Weekdays),
            Window(TimeSpan.Zero, TimeSpan.Zero, DayOfWeek.Saturday, DayOfWeek.Sunday));
        // Friday 2026-12-11 21:00: the night joins Saturday and Sunday, which ends at Monday 00:00.
        Assert.Equal(Utc(12, 14, 0), s.UsableUntil("b", "n1", Utc(12, 11, 21)));
        Assert.True(s.IsOpen("b", "n1", Utc(12, 13, 12)));
        Assert.False(s.IsOpen("b", "n1", Utc(12, 14, 3)));   // Sunday is not a night window here
    }

    [Fact]
    public void NextOpening_WalltimeLongerThanWhatIsLeft_IsTheNextWindowLongEnough()
    {
        var s = Nights();
        // Tuesday 06:00: one hour left, so a two-hour job can start at 20:00.
        Assert.Equal(Utc(12, 8, 20), s.NextOpening("b", "n1", Utc(12, 8, 6), TimeSpan.FromHours(2)));
        Assert.Equal(Utc(12, 8, 6), s.NextOpening("b", "n1", Utc(12, 8, 6), TimeSpan.FromHours(1)));
        // Friday night's window ends Saturday 07:00 and nothing opens at the weekend: Monday 20:00 next.
        Assert.Equal(Utc(12, 14, 20), s.NextOpening("b", "n1", Utc(12, 12, 8), TimeSpan.FromHours(3)));
        Assert.Null(s.NextOpening("b", "n1", Utc(12, 8, 6), TimeSpan.FromHours(12)));   // longer than any window
    }

    [Fact]
    public void Windows_SpringForwardNight_IsAnHourShorterInUtc()
    {
        // Europe/Berlin, 2027-03-28: 02:00 CET becomes 03:00 CEST. Saturday 20:00 CET to Sunday 07:00 CEST is 10 hours.
        var s = Lab("Europe/Berlin", Window(TimeSpan.FromHours(20), TimeSpan.FromHours(7), DayOfWeek.Saturday));
        var opens = new DateTimeOffset(2027, 3, 27, 19, 0, 0, TimeSpan.Zero);
        Assert.False(s.IsOpen("b", "n", opens.AddMinutes(-1)));
        Assert.True(s.IsOpen("b", "n", opens));
        Assert.Equal(new DateTimeOffset(2027, 3, 28, 5, 0, 0, TimeSpan.Zero), s.UsableUntil("b", "n", opens));
        Assert.Equal("2027-03-28T07:00:00+02:00", s.FormatLocal("b", "n", s.UsableUntil("b", "n", opens)!.Value));
    }

    [Fact]
    public void Windows_FallBackNight_IsAnHourLongerInUtc()
    {
        // Europe/Berlin, 2026-10-25: 03:00 CEST becomes 02:00 CET. Saturday 20:00 CEST to Sunday 07:00 CET is 12 hours.
        var s = Lab("Europe/Berlin", Window(TimeSpan.FromHours(20), TimeSpan.FromHours(7), DayOfWeek.Saturday));
        var opens = new DateTimeOffset(2026, 10, 24, 18, 0, 0, TimeSpan.Zero);
        Assert.Equal(opens.AddHours(12), s.UsableUntil("b", "n", opens));
    }

    [Fact]
    public void Windows_StartSkippedOrRepeatedByTheClock_TakeTheJumpAndTheFirstOccurrence()
    {
        // 02:30 does not exist on 2027-03-28 in Berlin: the window opens when the clock jumps (01:00 UTC).
        var spring = Lab("Europe/Berlin", Window(new TimeSpan(2, 30, 0), TimeSpan.FromHours(4), DayOfWeek.Sunday));
        Assert.False(spring.IsOpen("b", "n", new DateTimeOffset(2027, 3, 28, 0, 59, 0, TimeSpan.Zero)));
        Assert.True(spring.IsOpen("b", "n", new DateTimeOffset(2027, 3, 28, 1, 0, 0, TimeSpan.Zero)));
        // 02:30 occurs twice on 2026-10-25: the first one (02:30 CEST = 00:30 UTC).
        var fall = Lab("Europe/Berlin", Window(new TimeSpan(2, 30, 0), TimeSpan.FromHours(5), DayOfWeek.Sunday));
        Assert.False(fall.IsOpen("b", "n", new DateTimeOffset(2026, 10, 25, 0, 29, 0, TimeSpan.Zero)));
        Assert.True(fall.IsOpen("b", "n", new DateTimeOffset(2026, 10, 25, 0, 30, 0, TimeSpan.Zero)));
    }

    [Fact]
    public void PoolOf_NamedNodesAndWholeBackend_NodesOutsideArePoolless()
    {
        var s = AvailabilitySchedule.Create(new AvailabilityOptions
        {
            Pools =
            [
                new NodePoolOptions { Name = "lab", Backend = "agents", Nodes = ["pc1", "pc2"], Windows = [Window(TimeSpan.FromHours(20), TimeSpan.FromHours(7), Weekdays)] },
                new NodePoolOptions { Name = "vms", Backend = "qemu", Windows = [Window(TimeSpan.Zero, TimeSpan.Zero, DayOfWeek.Saturday)] },
            ],
        });
        Assert.Equal("lab", s.PoolOf("agents", "pc1"));
        Assert.Null(s.PoolOf("agents", "pc3"));
        Assert.True(s.IsOpen("agents", "pc3", Utc(12, 8, 12)));
        Assert.Null(s.UsableUntil("agents", "pc3", Utc(12, 8, 12)));
        Assert.Equal("vms", s.PoolOf("qemu", "anything"));
    }

    [Fact]
    public void Create_InvalidOptions_NamesEachFieldAndRule()
    {
        var options = new AvailabilityOptions
        {
            Pools =
            [
                new NodePoolOptions { Name = "lab", Backend = "b", Nodes = ["n1"], TimeZone = "Mars/Olympus", Windows = [new() { Days = [], Start = TimeSpan.FromHours(24), End = TimeSpan.FromHours(-1) }] },
                new NodePoolOptions { Name = "lab", Backend = "", Windows = [] },
                new NodePoolOptions { Name = "other", Backend = "b", Nodes = ["n1"], Windows = [Window(TimeSpan.Zero, TimeSpan.Zero, DayOfWeek.Monday)] },
            ],
        };
        var ex = Assert.Throws<ArgumentException>(() => AvailabilitySchedule.Create(options));
        Assert.Contains("Pools:0:TimeZone 'Mars/Olympus' is not a time zone", ex.Message);
        Assert.Contains("Pools:0:Windows:0:Days must name at least one day", ex.Message);
        Assert.Contains("Pools:0:Windows:0:Start 1.00:00:00 must be a time of day", ex.Message);
        Assert.Contains("Pools:0:Windows:0:End -01:00:00 must be a time of day", ex.Message);
        Assert.Contains("Pools:1:Name 'lab' is used by another pool", ex.Message);
        Assert.Contains("Pools:1:Backend is required", ex.Message);
        Assert.Contains("Pools:1:Windows must have at least one window", ex.Message);
        Assert.Contains("Pools:2:Nodes: node 'n1' of backend 'b' is already in pool 'lab'", ex.Message);
    }
}

namespace CompGrid.Scheduling.Availability;

/// <summary>
/// When each node accepts work, from <see cref="AvailabilityOptions"/>: a node outside every window of its pool accepts
/// no job; inside one, it takes only jobs whose walltime ends before the window does. The engine asks it while
/// placing and at each cycle (to requeue or signal jobs still running when a window ends); the power manager asks it
/// before starting a node and stops nodes whose window closed. A node in no pool is always available.
/// </summary>
/// <example>
/// Lab machines from 20:00 to 07:00 on weekdays and all weekend, Berlin time:
/// <code>
/// var lab = new NodePoolOptions { Name = "lab", Backend = "agents", TimeZone = "Europe/Berlin" };
/// lab.Windows.Add(new() { Days = [DayOfWeek.Monday, DayOfWeek.Tuesday, DayOfWeek.Wednesday, DayOfWeek.Thursday, DayOfWeek.Sunday], Start = TimeSpan.FromHours(20), End = TimeSpan.FromHours(7) });
/// lab.Windows.Add(new() { Days = [DayOfWeek.Friday], Start = TimeSpan.FromHours(20), End = TimeSpan.Zero });
/// lab.Windows.Add(new() { Days = [DayOfWeek.Saturday, DayOfWeek.Sunday], Start = TimeSpan.Zero, End = TimeSpan.Zero });
/// var schedule = AvailabilitySchedule.Create(new AvailabilityOptions { Pools = [lab] });
/// </code>
/// </example>
public sealed class AvailabilitySchedule
{
    // How far ahead openings and window ends are looked for; a window that stays open longer reads as open this long.
    private static readonly TimeSpan Horizon = TimeSpan.FromDays(62);

    private readonly Dictionary<string, Pool> _byNode = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Pool> _byBackend = new(StringComparer.Ordinal);
    private readonly List<Pool> _pools = [];

    private AvailabilitySchedule(AvailabilityOptions options)
    {
        foreach (var p in options.Pools)
        {
            AvailabilityOptionsValidator.TryFindZone(p.TimeZone, out var zone);
            var pool = new Pool(p.Name, p.Backend, p.AtWindowEnd, new WindowCalendar([.. p.Windows], zone));
            _pools.Add(pool);
            if (p.Nodes.Count == 0) _byBackend[p.Backend] = pool;
            foreach (string n in p.Nodes) _byNode[p.Backend + "/" + n] = pool;
        }
    }

    /// <summary>Builds the schedule; the options are validated by the same validator DI uses.</summary>
    /// <exception cref="ArgumentException">The options are invalid; the message names each field and rule.</exception>
    public static AvailabilitySchedule Create(AvailabilityOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = AvailabilityOptionsValidator.Errors(options);
        if (errors.Count > 0) throw new ArgumentException(string.Join(" ", errors), nameof(options));
        return new AvailabilitySchedule(options);
    }

    /// <summary>Whether any pool is configured.</summary>
    public bool IsEmpty => _pools.Count == 0;

    /// <summary>The pool a node is in, or null when it is always available.</summary>
    public string? PoolOf(string backend, string node) => Find(backend, node)?.Name;

    /// <summary>Whether the node accepts work at <paramref name="at"/>.</summary>
    public bool IsOpen(string backend, string node, DateTimeOffset at) => Find(backend, node) is not { } p || p.OpenUntil(at) > at;

    /// <summary>
    /// Until when a job may run on the node if it starts at <paramref name="at"/>: the end of the window open then, or
    /// <paramref name="at"/> itself when the node is closed; null when the node is in no pool (no limit).
    /// </summary>
    public DateTimeOffset? UsableUntil(string backend, string node, DateTimeOffset at) => Find(backend, node)?.OpenUntil(at);

    /// <summary>
    /// The earliest instant from <paramref name="at"/> on at which the node is open for <paramref name="duration"/>
    /// without a break (<paramref name="at"/> itself when it is open that long now); null when no window within two
    /// months is long enough.
    /// </summary>
    public DateTimeOffset? NextOpening(string backend, string node, DateTimeOffset at, TimeSpan duration) =>
        Find(backend, node) is { } p ? p.NextFit(at, duration) : at;

    /// <summary>What happens to jobs on the node when its window ends (<see cref="WindowEndAction.Requeue"/> for a node in no pool, which never closes).</summary>
    public WindowEndAction AtWindowEnd(string backend, string node) => Find(backend, node)?.AtWindowEnd ?? WindowEndAction.Requeue;

    /// <summary>A time as the pool's local time, for messages: <c>2026-12-07T20:00:00+01:00</c>.</summary>
    public string FormatLocal(string backend, string node, DateTimeOffset at) =>
        TimeZoneInfo.ConvertTime(at, Find(backend, node)?.Calendar.Zone ?? TimeZoneInfo.Utc).ToString("yyyy-MM-dd'T'HH:mm:sszzz", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Whether any pool is on the backend (placement there checks windows).</summary>
    internal bool HasPools(string backend) => _pools.Any(p => p.Backend == backend);

    private Pool? Find(string backend, string node) =>
        _byNode.TryGetValue(backend + "/" + node, out var p) ? p : _byBackend.GetValueOrDefault(backend);

    private sealed class Pool(string name, string backend, WindowEndAction atEnd, WindowCalendar calendar)
    {
        public string Name => name;
        public string Backend => backend;
        public WindowEndAction AtWindowEnd => atEnd;
        public WindowCalendar Calendar => calendar;

        // The intervals of [From, From + Horizon + Refresh), reused while 'at' stays within Refresh of From (swapped whole:
        // the engine and the power manager read it from different threads).
        private static readonly TimeSpan Refresh = TimeSpan.FromDays(1);
        private sealed record Cache(DateTimeOffset From, List<(DateTimeOffset Start, DateTimeOffset End)> Intervals);
        private Cache? _cache;

        private List<(DateTimeOffset Start, DateTimeOffset End)> IntervalsFrom(DateTimeOffset at)
        {
            var c = _cache;
            if (c is null || at < c.From || at - c.From > Refresh)
                _cache = c = new Cache(at, calendar.Intervals(at, at + Horizon + Refresh));
            return c.Intervals;
        }

        public DateTimeOffset OpenUntil(DateTimeOffset at)
        {
            foreach (var (start, end) in IntervalsFrom(at))
            {
                if (start > at) break;
                if (at < end) return end;
            }
            return at;
        }

        public DateTimeOffset? NextFit(DateTimeOffset at, TimeSpan duration)
        {
            foreach (var (start, end) in IntervalsFrom(at))
            {
                if (end <= at) continue;
                var from = start > at ? start : at;
                if (from + duration <= end) return from;
            }
            return null;
        }
    }
}

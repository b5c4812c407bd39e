using Microsoft.Extensions.Options;

namespace CompGrid.Scheduling.Availability;

/// <summary>Validates <see cref="AvailabilityOptions"/>; used by DI (<c>ValidateOnStart</c>) and by <see cref="AvailabilitySchedule.Create"/>.</summary>
internal sealed class AvailabilityOptionsValidator : IValidateOptions<AvailabilityOptions>
{
    public ValidateOptionsResult Validate(string? name, AvailabilityOptions options)
    {
        var errors = Errors(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public static List<string> Errors(AvailabilityOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        var e = new List<string>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var nodes = new Dictionary<string, string>(StringComparer.Ordinal);
        if (o.Pools is null) { e.Add("CompGrid:Availability:Pools must not be null."); return e; }
        for (int i = 0; i < o.Pools.Count; i++)
        {
            string p = $"CompGrid:Availability:Pools:{i}:";
            var pool = o.Pools[i];
            if (pool is null) { e.Add(p + " must not be null."); continue; }
            if (string.IsNullOrWhiteSpace(pool.Name)) e.Add(p + "Name is required.");
            else if (!names.Add(pool.Name)) e.Add(p + $"Name '{pool.Name}' is used by another pool.");
            if (string.IsNullOrWhiteSpace(pool.Backend)) e.Add(p + "Backend is required.");
            if (!TryFindZone(pool.TimeZone, out _)) e.Add(p + $"TimeZone '{pool.TimeZone}' is not a time zone this system knows (an IANA id such as Europe/Berlin, or UTC).");
            if (!Enum.IsDefined(pool.AtWindowEnd)) e.Add(p + $"AtWindowEnd '{pool.AtWindowEnd}' is not Requeue or Signal.");
            foreach (string node in pool.Nodes ?? [])
            {
                if (string.IsNullOrWhiteSpace(node)) { e.Add(p + "Nodes must not contain an empty name."); continue; }
                string key = pool.Backend + "/" + node;
                if (nodes.TryGetValue(key, out string? other)) e.Add(p + $"Nodes: node '{node}' of backend '{pool.Backend}' is already in pool '{other}'.");
                else nodes[key] = pool.Name;
            }
            string all = pool.Backend + "/*";
            if ((pool.Nodes?.Count ?? 0) == 0 && !string.IsNullOrWhiteSpace(pool.Backend))
            {
                if (nodes.TryGetValue(all, out string? other)) e.Add(p + $"Nodes: every node of backend '{pool.Backend}' is already in pool '{other}'.");
                else nodes[all] = pool.Name;
            }
            if (pool.Windows is not { Count: > 0 }) { e.Add(p + "Windows must have at least one window."); continue; }
            for (int w = 0; w < pool.Windows.Count; w++)
            {
                string q = p + $"Windows:{w}:";
                var window = pool.Windows[w];
                if (window is null) { e.Add(q + " must not be null."); continue; }
                if (window.Days is not { Count: > 0 }) e.Add(q + "Days must name at least one day of the week.");
                else if (window.Days.Any(d => !Enum.IsDefined(d))) e.Add(q + "Days must be days of the week (Monday … Sunday).");
                if (window.Start < TimeSpan.Zero || window.Start >= TimeSpan.FromDays(1)) e.Add(q + $"Start {window.Start} must be a time of day from 00:00 to before 24:00.");
                if (window.End < TimeSpan.Zero || window.End >= TimeSpan.FromDays(1)) e.Add(q + $"End {window.End} must be a time of day from 00:00 to before 24:00.");
            }
        }
        // A pool of named nodes beside a pool of the whole backend would give one node two calendars.
        foreach (var key in nodes.Keys.Where(k => !k.EndsWith("/*", StringComparison.Ordinal)))
        {
            string backend = key[..key.LastIndexOf('/')];
            if (nodes.TryGetValue(backend + "/*", out string? whole))
                e.Add($"CompGrid:Availability:Pools: node '{key}' is in pool '{nodes[key]}' and, with every node of backend '{backend}', in pool '{whole}'.");
        }
        return e;
    }

    public static bool TryFindZone(string? id, out TimeZoneInfo zone)
    {
        zone = TimeZoneInfo.Utc;
        if (string.IsNullOrWhiteSpace(id)) return false;
        try { zone = TimeZoneInfo.FindSystemTimeZoneById(id); return true; }
        catch (TimeZoneNotFoundException) { return false; }
        catch (InvalidTimeZoneException) { return false; }
    }
}

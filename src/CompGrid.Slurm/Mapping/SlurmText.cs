using System.Globalization;

namespace CompGrid.Slurm.Mapping;

/// <summary>Parsers for the CLI's text values: TRES strings, memory sizes, durations, epoch times.</summary>
internal static class SlurmText
{
    /// <summary>Parses <c>billing=2,cpu=2,mem=300M,node=1,gres/gpu=2</c>; memory in MiB.</summary>
    public static Dictionary<string, decimal> ParseTres(string? tres)
    {
        var result = new Dictionary<string, decimal>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(tres) || tres == "(null)") return result;
        foreach (string item in tres.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = item.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) continue;
            string name = item[..eq].ToLowerInvariant();
            string value = item[(eq + 1)..];
            decimal? number = name == "mem" ? ParseMemoryMiB(value) : ParseNumber(value);
            if (number is { } n) result[name] = n;
        }
        return result;
    }

    /// <summary>Parses a size with an optional K/M/G/T/P suffix (no suffix = MiB) into MiB.</summary>
    public static decimal? ParseMemoryMiB(string? value) => ParseSize(value, defaultUnit: 'M') is { } bytes ? bytes / (1024m * 1024m) : null;

    /// <summary>Parses a size with an optional K/M/G/T/P suffix into bytes; a bare number is in <paramref name="defaultUnit"/>.</summary>
    public static decimal? ParseSize(string? value, char defaultUnit)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        value = value.Trim();
        char unit = char.ToUpperInvariant(value[^1]);
        string digits = char.IsLetter(unit) ? value[..^1] : value;
        if (!char.IsLetter(unit)) unit = defaultUnit;
        if (!decimal.TryParse(digits, NumberStyles.Float, CultureInfo.InvariantCulture, out decimal n)) return null;
        decimal factor = unit switch
        {
            'B' => 1m,
            'K' => 1024m,
            'M' => 1024m * 1024m,
            'G' => 1024m * 1024m * 1024m,
            'T' => 1024m * 1024m * 1024m * 1024m,
            'P' => 1024m * 1024m * 1024m * 1024m * 1024m,
            _ => 1m,
        };
        return n * factor;
    }

    public static decimal? ParseNumber(string? value) =>
        decimal.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out decimal n) ? n : null;

    public static long? ParseLong(string? value) =>
        long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n) ? n : null;

    /// <summary>Parses an epoch-seconds time (SLURM_TIME_FORMAT=%s); Unknown/None/N/A and 0 give null.</summary>
    public static DateTimeOffset? ParseEpoch(string? value) =>
        long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long s) && s > 0 && s < 4_000_000_000
            ? DateTimeOffset.FromUnixTimeSeconds(s)
            : null;

    /// <summary>Parses sacct durations: <c>[D-][HH:]MM:SS[.mmm]</c>.</summary>
    public static TimeSpan ParseDuration(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return TimeSpan.Zero;
        value = value.Trim();
        int days = 0;
        int dash = value.IndexOf('-', StringComparison.Ordinal);
        if (dash > 0)
        {
            _ = int.TryParse(value[..dash], NumberStyles.Integer, CultureInfo.InvariantCulture, out days);
            value = value[(dash + 1)..];
        }
        var parts = value.Split(':');
        double seconds = 0;
        foreach (string p in parts)
            seconds = seconds * 60 + (double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : 0);
        return TimeSpan.FromDays(days) + TimeSpan.FromSeconds(seconds);
    }
}

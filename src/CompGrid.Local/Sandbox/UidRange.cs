using System.Globalization;

namespace CompGrid.Local.Sandbox;

/// <summary>An inclusive range of numeric user ids, written <c>first-last</c>.</summary>
internal readonly record struct UidRange(uint First, uint Last)
{
    internal bool Contains(uint uid) => uid >= First && uid <= Last;

    internal static UidRange? TryParse(string text)
    {
        var parts = text.Split('-', 2, StringSplitOptions.TrimEntries);
        if (parts.Length != 2
            || !uint.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out uint first)
            || !uint.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out uint last)
            || first < 1000 || first > last || last > 4294967293) return null;
        return new UidRange(first, last);
    }
}

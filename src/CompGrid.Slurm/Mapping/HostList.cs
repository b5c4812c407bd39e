using System.Globalization;
using System.Text;

namespace CompGrid.Slurm.Mapping;

/// <summary>Expands Slurm host lists such as <c>n[1,3-4],gpu01</c>.</summary>
internal static class HostList
{
    public static IReadOnlyList<string> Expand(string? hostList)
    {
        if (string.IsNullOrWhiteSpace(hostList) || hostList is "(null)" or "None assigned" or "NONE") return [];
        var result = new List<string>();
        foreach (string item in SplitTopLevel(hostList.Trim()))
        {
            int open = item.IndexOf('[', StringComparison.Ordinal);
            int close = item.IndexOf(']', StringComparison.Ordinal);
            if (open < 0 || close < open)
            {
                if (item.Length > 0) result.Add(item);
                continue;
            }
            string prefix = item[..open], suffix = item[(close + 1)..];
            foreach (string range in item[(open + 1)..close].Split(','))
            {
                int dash = range.IndexOf('-', StringComparison.Ordinal);
                if (dash < 0) { Add(prefix + range + suffix); continue; }
                string lo = range[..dash], hi = range[(dash + 1)..];
                if (!int.TryParse(lo, NumberStyles.None, CultureInfo.InvariantCulture, out int a) ||
                    !int.TryParse(hi, NumberStyles.None, CultureInfo.InvariantCulture, out int b) || b < a || b - a > 100_000)
                {
                    Add(prefix + range + suffix);
                    continue;
                }
                for (int i = a; i <= b; i++)
                    Add(prefix + i.ToString(CultureInfo.InvariantCulture).PadLeft(lo.Length, '0') + suffix);
            }
        }
        return result;

        // A name with a second bracket group (r[1-2]c[1-2]) expands again.
        void Add(string name)
        {
            if (name.Contains('[', StringComparison.Ordinal) && name.Contains(']', StringComparison.Ordinal)) result.AddRange(Expand(name));
            else result.Add(name);
        }
    }

    private static IEnumerable<string> SplitTopLevel(string s)
    {
        var sb = new StringBuilder();
        int depth = 0;
        foreach (char c in s)
        {
            if (c == '[') depth++;
            else if (c == ']') depth--;
            if (c == ',' && depth == 0)
            {
                yield return sb.ToString();
                sb.Clear();
            }
            else sb.Append(c);
        }
        if (sb.Length > 0) yield return sb.ToString();
    }
}

using System.Globalization;
using System.Text.RegularExpressions;

namespace CompGrid.Local.Supervision;

/// <summary>Parses the output of the wrapper's <c>times</c>: the CPU time of the children it waited for.</summary>
internal static partial class ShellTimes
{
    // `times` prints the shell's and then the children's user and system times, like "0m0.120000s 0m0.010000s".
    internal static TimeSpan? Read(string path)
    {
        try
        {
            var lines = File.ReadAllLines(path);
            if (lines.Length < 2) return null;
            var total = TimeSpan.Zero;
            foreach (string part in lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var m = TimesRegex().Match(part);
                if (!m.Success) return null;
                total += TimeSpan.FromMinutes(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))
                       + TimeSpan.FromSeconds(double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
            }
            return total;
        }
        catch (IOException) { return null; }
    }

    [GeneratedRegex(@"^(\d+)m([\d.]+)s$")]
    private static partial Regex TimesRegex();
}

using System.Text;

namespace CompGrid.Slurm.Mapping;

/// <summary>POSIX shell quoting: every value becomes one single-quoted word, so nothing inside it is interpreted.</summary>
internal static class ShellQuote
{
    /// <summary>Quotes one word: <c>it's</c> → <c>'it'\''s'</c>. Newlines stay literal inside the quotes. NUL is refused.</summary>
    public static string Quote(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Contains('\0', StringComparison.Ordinal))
            throw new ArgumentException("A shell word cannot contain a NUL character.", nameof(value));
        if (value.Length > 0 && IsPlain(value)) return value;
        return "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
    }

    /// <summary>Joins words into one command line, each quoted.</summary>
    public static string Join(IEnumerable<string> words)
    {
        var sb = new StringBuilder();
        foreach (string w in words)
        {
            if (sb.Length > 0) sb.Append(' ');
            sb.Append(Quote(w));
        }
        return sb.ToString();
    }

    private static bool IsPlain(string value)
    {
        foreach (char c in value)
        {
            bool ok = c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9')
                or '-' or '_' or '.' or '/' or ',' or ':' or '=' or '+' or '@' or '%';
            if (!ok) return false;
        }
        return true;
    }
}

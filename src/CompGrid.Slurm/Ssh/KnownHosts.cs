using System.Security.Cryptography;
using System.Text;

namespace CompGrid.Slurm.Ssh;

/// <summary>
/// An OpenSSH <c>known_hosts</c> file (sshd(8), "SSH_KNOWN_HOSTS FILE FORMAT"), for verifying host keys where SSH.NET
/// has no parser: plain host patterns (with <c>*</c>, <c>?</c> and <c>!</c> negation), <c>[host]:port</c> entries for
/// ports other than 22, hashed <c>|1|salt|hash</c> entries (HMAC-SHA1 of the host name under the salt) and the
/// <c>@revoked</c> marker. A key is trusted when a non-revoked line for the host holds exactly its public key blob and no
/// <c>@revoked</c> line holds it. <c>@cert-authority</c> lines are skipped: host certificates are not accepted.
/// </summary>
internal sealed class KnownHosts
{
    private readonly List<Entry> _entries;

    private KnownHosts(List<Entry> entries) => _entries = entries;

    /// <summary>The number of usable lines (for messages).</summary>
    public int Count => _entries.Count;

    /// <summary>Parses the text of a known_hosts file. Lines that cannot be parsed are skipped, as OpenSSH does.</summary>
    public static KnownHosts Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var entries = new List<Entry>();
        foreach (string raw in text.Split('\n'))
        {
            string line = raw.Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            var fields = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            int i = 0;
            bool revoked = false;
            if (fields[0].StartsWith('@'))
            {
                if (fields[0] == "@revoked") revoked = true;
                else continue; // @cert-authority or unknown marker
                i = 1;
            }
            if (fields.Length < i + 3) continue;
            byte[] key;
            try
            {
                key = Convert.FromBase64String(fields[i + 2]);
            }
            catch (FormatException)
            {
                continue;
            }
            entries.Add(new Entry(fields[i], key, revoked));
        }
        return new KnownHosts(entries);
    }

    /// <summary>The name a host is looked up by: <c>host</c> on port 22, otherwise <c>[host]:port</c>.</summary>
    public static string LookupName(string host, int port) =>
        port == 22 ? host.ToLowerInvariant() : $"[{host.ToLowerInvariant()}]:{port.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    /// <summary>The hashed form of a host name (<c>|1|base64(salt)|base64(HMAC-SHA1(salt, name))</c>), as <c>ssh-keygen -H</c> writes it.</summary>
    public static string Hash(string lookupName, byte[] salt)
    {
        byte[] mac = HMACSHA1.HashData(salt, Encoding.UTF8.GetBytes(lookupName));
        return $"|1|{Convert.ToBase64String(salt)}|{Convert.ToBase64String(mac)}";
    }

    /// <summary>Whether <paramref name="keyBlob"/> (the server's public key in SSH wire format) is the known key of the host.</summary>
    public bool IsTrusted(string host, int port, ReadOnlySpan<byte> keyBlob)
    {
        string name = LookupName(host, port);
        bool trusted = false;
        foreach (var entry in _entries)
        {
            if (!keyBlob.SequenceEqual(entry.Key) || !entry.Matches(name)) continue;
            if (entry.Revoked) return false;
            trusted = true;
        }
        return trusted;
    }

    /// <summary>Whether any line names the host at all (to tell "unknown host" from "key changed" in errors).</summary>
    public bool KnowsHost(string host, int port)
    {
        string name = LookupName(host, port);
        return _entries.Any(e => !e.Revoked && e.Matches(name));
    }

    private sealed record Entry(string Hosts, byte[] Key, bool Revoked)
    {
        public bool Matches(string name)
        {
            if (Hosts.StartsWith("|1|", StringComparison.Ordinal)) return HashMatches(name);
            bool matched = false;
            foreach (string pattern in Hosts.Split(','))
            {
                bool negated = pattern.StartsWith('!');
                string p = (negated ? pattern[1..] : pattern).ToLowerInvariant();
                if (!Wildcard(p, name)) continue;
                if (negated) return false; // a negated match rejects the line whatever else matches
                matched = true;
            }
            return matched;
        }

        private bool HashMatches(string name)
        {
            var parts = Hosts.Split('|');
            if (parts.Length != 4) return false;
            try
            {
                byte[] salt = Convert.FromBase64String(parts[2]);
                byte[] expected = Convert.FromBase64String(parts[3]);
                byte[] actual = HMACSHA1.HashData(salt, Encoding.UTF8.GetBytes(name));
                return CryptographicOperations.FixedTimeEquals(actual, expected);
            }
            catch (FormatException)
            {
                return false;
            }
        }

        // OpenSSH's match_pattern: '*' any run, '?' one character, everything else literal.
        private static bool Wildcard(ReadOnlySpan<char> pattern, ReadOnlySpan<char> text)
        {
            int p = 0, t = 0, star = -1, mark = 0;
            while (t < text.Length)
            {
                if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == text[t]))
                {
                    p++;
                    t++;
                }
                else if (p < pattern.Length && pattern[p] == '*')
                {
                    star = p++;
                    mark = t;
                }
                else if (star >= 0)
                {
                    p = star + 1;
                    t = ++mark;
                }
                else return false;
            }
            while (p < pattern.Length && pattern[p] == '*') p++;
            return p == pattern.Length;
        }
    }
}

using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace CompGrid;

/// <summary>
/// The webhook signature: <c>CompGrid-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex&gt;</c>, where the hex is the lower-case
/// HMAC-SHA256, keyed with the UTF-8 bytes of the shared secret, of the UTF-8 bytes of <c>"&lt;t&gt;." + body</c>. A receiver
/// recomputes it over the raw body it received, compares in constant time, and refuses timestamps outside its
/// tolerance (replays). <see cref="Verify"/> does all three.
/// </summary>
public static class WebhookSignature
{
    /// <summary>The signature header's name.</summary>
    public const string HeaderName = "CompGrid-Signature";

    /// <summary>The header carrying the outbox message id, the same on every retry (drop duplicates by it).</summary>
    public const string MessageIdHeaderName = "CompGrid-Message-Id";

    /// <summary>The header value for <paramref name="body"/> sent at <paramref name="timestamp"/>.</summary>
    public static string Create(string secret, DateTimeOffset timestamp, ReadOnlySpan<byte> body)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        long t = timestamp.ToUnixTimeSeconds();
        return "t=" + t.ToString(CultureInfo.InvariantCulture) + ",v1=" + Convert.ToHexStringLower(Mac(secret, t, body));
    }

    /// <summary>
    /// Whether <paramref name="header"/> is a valid signature of <paramref name="body"/> with <paramref name="secret"/>,
    /// made within <paramref name="tolerance"/> of <paramref name="now"/>.
    /// </summary>
    public static bool Verify(string secret, string? header, ReadOnlySpan<byte> body, DateTimeOffset now, TimeSpan tolerance)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        if (string.IsNullOrEmpty(header)) return false;
        long? t = null;
        byte[]? given = null;
        foreach (var part in header.Split(','))
        {
            var kv = part.Trim();
            if (kv.StartsWith("t=", StringComparison.Ordinal) && long.TryParse(kv.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out var ts)) t = ts;
            else if (kv.StartsWith("v1=", StringComparison.Ordinal) && kv.Length == 3 + 64)
            {
                try { given = Convert.FromHexString(kv.AsSpan(3)); } catch (FormatException) { return false; }
            }
        }
        if (t is null || given is null) return false;
        if (t.Value < DateTimeOffset.MinValue.ToUnixTimeSeconds() || t.Value > DateTimeOffset.MaxValue.ToUnixTimeSeconds()) return false;
        if ((now - DateTimeOffset.FromUnixTimeSeconds(t.Value)).Duration() > tolerance) return false;
        return CryptographicOperations.FixedTimeEquals(given, Mac(secret, t.Value, body));
    }

    private static byte[] Mac(string secret, long t, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes(t.ToString(CultureInfo.InvariantCulture) + ".");
        var data = new byte[prefix.Length + body.Length];
        prefix.CopyTo(data, 0);
        body.CopyTo(data.AsSpan(prefix.Length));
        return HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), data);
    }
}

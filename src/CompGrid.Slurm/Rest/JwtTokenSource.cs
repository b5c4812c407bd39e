using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace CompGrid.Slurm.Rest;

/// <summary>
/// Supplies the JWT for <c>X-SLURM-USER-TOKEN</c>: a fixed token, a token file (re-read before expiry, so an outside
/// process can rotate it), or tokens minted from the cluster's HS256 key and renewed before they expire.
/// </summary>
internal sealed class JwtTokenSource
{
    private readonly SlurmBackendOptions _options;
    private readonly TimeProvider _time;
    private readonly string _backend;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private string? _token;
    private DateTimeOffset? _expires;

    public JwtTokenSource(SlurmBackendOptions options, TimeProvider time, string backend)
    {
        _options = options;
        _time = time;
        _backend = backend;
        UserName = options.TokenUser ?? Environment.UserName;
    }

    /// <summary>The user the token is for (the <c>X-SLURM-USER-NAME</c> header of requests made for the service).</summary>
    public string UserName { get; }

    /// <summary>The current token, renewed when it expires within the refresh margin (or when <paramref name="forceRefresh"/>).</summary>
    public async ValueTask<string> GetTokenAsync(bool forceRefresh, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (!forceRefresh && _token is not null && (_expires is null || _expires.Value - _options.TokenRefreshMargin > now)) return _token;
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            now = _time.GetUtcNow();
            if (!forceRefresh && _token is not null && (_expires is null || _expires.Value - _options.TokenRefreshMargin > now)) return _token;
            string token;
            if (_options.JwtKeyFile is { } keyFile)
            {
                byte[] key = await File.ReadAllBytesAsync(keyFile, cancellationToken).ConfigureAwait(false);
                token = Mint(key, UserName, now, _options.TokenLifetime);
            }
            else if (_options.TokenFile is { } tokenFile)
            {
                string text = (await File.ReadAllTextAsync(tokenFile, cancellationToken).ConfigureAwait(false)).Trim();
                token = text.StartsWith("SLURM_JWT=", StringComparison.Ordinal) ? text["SLURM_JWT=".Length..] : text;
            }
            else token = _options.Token ?? throw new CompGridException("No JWT configured: set Token, TokenFile or JwtKeyFile.") { Backend = _backend, Operation = "auth", Code = CompGridErrorCodes.NoToken };

            _expires = ReadExpiry(token);
            if (_expires is { } exp && exp <= now)
                throw new CompGridException($"The Slurm JWT for '{UserName}' expired at {exp:O}; provide a fresh token (scontrol token) or configure JwtKeyFile.")
                { Backend = _backend, Operation = "auth", Code = CompGridErrorCodes.TokenExpired };
            _token = token;
            return token;
        }
        catch (IOException ex)
        {
            throw new CompGridException("Cannot read the Slurm JWT or key file: " + ex.Message, ex) { Backend = _backend, Operation = "auth", Code = CompGridErrorCodes.NoToken };
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new CompGridException("Cannot read the Slurm JWT or key file: " + ex.Message, ex) { Backend = _backend, Operation = "auth", Code = CompGridErrorCodes.NoToken };
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Creates an HS256 token with the claims Slurm checks: <c>iat</c>, <c>exp</c> and <c>sun</c> (the user name).</summary>
    public static string Mint(byte[] key, string userName, DateTimeOffset now, TimeSpan lifetime)
    {
        string header = Base64Url("{\"alg\":\"HS256\",\"typ\":\"JWT\"}"u8);
        var payload = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["iat"] = now.ToUnixTimeSeconds(),
            ["exp"] = (now + lifetime).ToUnixTimeSeconds(),
            ["sun"] = userName,
        });
        string unsigned = header + "." + Base64Url(payload);
        byte[] signature = HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(unsigned));
        return unsigned + "." + Base64Url(signature);
    }

    /// <summary>The <c>exp</c> claim of a JWT, or null when it has none or is not a JWT.</summary>
    public static DateTimeOffset? ReadExpiry(string token)
    {
        var parts = token.Split('.');
        if (parts.Length != 3) return null;
        try
        {
            string p = parts[1].Replace('-', '+').Replace('_', '/');
            p = p.PadRight(p.Length + (4 - p.Length % 4) % 4, '=');
            using var doc = JsonDocument.Parse(Convert.FromBase64String(p));
            return doc.RootElement.TryGetProperty("exp", out var exp) && exp.TryGetInt64(out long s) ? DateTimeOffset.FromUnixTimeSeconds(s) : null;
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return null;
        }
    }

    private static string Base64Url(ReadOnlySpan<byte> data) => Convert.ToBase64String(data).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace CompGrid.SampleHost.Api;

/// <summary>A user of the sample host: the SHA-256 (hex) of their bearer token, and their roles.</summary>
public sealed class SampleUser
{
    public string TokenSha256 { get; set; } = "";
    public List<string> Roles { get; set; } = [];
}

/// <summary>Users from configuration (<c>CompGrid:Users:&lt;name&gt;</c>).</summary>
public sealed class SampleUsersOptions
{
    public Dictionary<string, SampleUser> Users { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// <c>Authorization: Bearer &lt;token&gt;</c>: the token's SHA-256 is compared (in fixed time) with the configured hashes.
/// Tokens are never stored in clear.
/// </summary>
public sealed class BearerTokenHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, IOptionsMonitor<SampleUsersOptions> users)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header)) return Task.FromResult(AuthenticateResult.NoResult());
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return Task.FromResult(AuthenticateResult.Fail("Use 'Authorization: Bearer <token>'."));
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim()));
        foreach (var (name, user) in users.CurrentValue.Users)
        {
            byte[] expected;
            try { expected = Convert.FromHexString(user.TokenSha256); }
            catch (FormatException) { continue; }
            if (expected.Length == hash.Length && CryptographicOperations.FixedTimeEquals(expected, hash))
            {
                var claims = new List<Claim> { new(ClaimTypes.Name, name) };
                claims.AddRange(user.Roles.Select(r => new Claim(ClaimTypes.Role, r)));
                var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
                return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName)));
            }
        }
        return Task.FromResult(AuthenticateResult.Fail("Unknown token."));
    }
}

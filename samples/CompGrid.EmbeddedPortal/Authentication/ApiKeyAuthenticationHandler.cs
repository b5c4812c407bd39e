using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace CompGrid.EmbeddedPortal.Authentication;

/// <summary>One API key: the user it signs in and the SHA-256 of the key (hex), so configuration holds no secret.</summary>
public sealed class ApiKeyEntry
{
    /// <summary>The user name the key signs in; it becomes the job owner.</summary>
    /// <value>The default is empty (invalid).</value>
    public string User { get; set; } = "";

    /// <summary>The SHA-256 of the key, 64 hex digits (<c>printf %s KEY | sha256sum</c>).</summary>
    /// <value>The default is empty (invalid).</value>
    public string Sha256 { get; set; } = "";
}

/// <summary>The portal's API keys (<c>Portal:ApiKeys</c>).</summary>
public sealed class ApiKeyOptions : AuthenticationSchemeOptions
{
    /// <summary>The scheme's name.</summary>
    public const string Scheme = "ApiKey";

    /// <summary>The request header that carries the key.</summary>
    public const string Header = "X-Api-Key";

    /// <summary>The keys that sign users in.</summary>
    /// <value>The default is none (nobody can sign in).</value>
    public IList<ApiKeyEntry> ApiKeys { get; set; } = [];
}

/// <summary>
/// Signs a request in from its <c>X-Api-Key</c> header: the key's SHA-256 is compared, in fixed time, with each
/// configured hash. The portal's own scheme; CompGrid only ever sees the resulting user name.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(IOptionsMonitor<ApiKeyOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<ApiKeyOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(ApiKeyOptions.Header, out var values) || values.Count != 1 || string.IsNullOrEmpty(values[0]))
            return Task.FromResult(AuthenticateResult.NoResult());

        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(values[0]!));
        string? user = null;
        foreach (var entry in Options.ApiKeys)
        {
            // Every entry is compared (no early exit), so the time taken does not tell which one matched.
            if (entry.Sha256.Length == 64 && CryptographicOperations.FixedTimeEquals(hash, Convert.FromHexString(entry.Sha256)))
                user ??= entry.User;
        }
        if (user is null) return Task.FromResult(AuthenticateResult.Fail("unknown API key"));

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, user)], ApiKeyOptions.Scheme);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), ApiKeyOptions.Scheme)));
    }
}

/// <summary>Refuses to start with a key entry that has no user or a hash that is not 64 hex digits.</summary>
internal sealed class ApiKeyOptionsValidator : IValidateOptions<ApiKeyOptions>
{
    public ValidateOptionsResult Validate(string? name, ApiKeyOptions options)
    {
        var errors = new List<string>();
        for (int i = 0; i < options.ApiKeys.Count; i++)
        {
            var key = options.ApiKeys[i];
            if (string.IsNullOrWhiteSpace(key.User)) errors.Add($"Portal:ApiKeys[{i}].User is required.");
            if (key.Sha256.Length != 64 || !key.Sha256.All(Uri.IsHexDigit)) errors.Add($"Portal:ApiKeys[{i}].Sha256 must be 64 hex digits (the SHA-256 of the key).");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

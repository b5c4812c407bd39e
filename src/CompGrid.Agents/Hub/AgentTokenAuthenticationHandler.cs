using System.Security.Claims;
using System.Text.Encodings.Web;
using CompGrid.Agents.Protocol;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CompGrid.Agents;

/// <summary>
/// Authenticates agent connections by the bearer token in the <c>Authorization</c> header (never a query string,
/// which ends up in logs). The identity is the machine the token's hash is configured for.
/// </summary>
internal sealed class AgentTokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory loggerFactory, UrlEncoder encoder, AgentRegistry registry)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.Ordinal)) return Task.FromResult(AuthenticateResult.NoResult());
        string? machine = registry.Authenticate(header["Bearer ".Length..].Trim());
        if (machine is null)
        {
            Log.Refused(Logger, $"unknown token from {Context.Connection.RemoteIpAddress}");
            return Task.FromResult(AuthenticateResult.Fail("Unknown agent token."));
        }
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, machine)], AgentProtocol.AuthenticationScheme);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), AgentProtocol.AuthenticationScheme)));
    }
}

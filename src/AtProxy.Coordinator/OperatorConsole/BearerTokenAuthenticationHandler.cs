using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using AtProxy.Coordinator.Configuration;
using AtProxy.Coordinator.Diagnostics;
using AtProxy.Coordinator.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace AtProxy.Coordinator.OperatorConsole;

/// <summary>
/// <c>Authorization: Bearer &lt;token&gt;</c> on an admin endpoint request (Prometheus' <c>authorization</c>
/// setting, scripts): the admin token, compared in constant time. The token is never logged.
/// </summary>
internal sealed class BearerTokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    IOptions<CoordinatorOptions> coordinatorOptions,
    AdminTokenThrottle throttle)
    : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, loggerFactory, encoder)
{
    public const string SchemeName = "atproxy-bearer";
    private const string Prefix = "Bearer ";

    // Set when this request's address may not present a token now: the challenge answers 429, not 401.
    private TimeSpan? _refusedFor;

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (header.Length == 0)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }
        if (AdminCredential.Of(coordinatorOptions.Value) is not { } token)
        {
            return Task.FromResult(AuthenticateResult.NoResult()); // nothing to check: admin access is open
        }
        var address = Context.Connection.RemoteIpAddress;
        if (throttle.RefusedFor(address) is { } wait)
        {
            _refusedFor = wait;
            Log.AdminTokenThrottled(Logger, address?.ToString() ?? "?", (int)Math.Ceiling(wait.TotalSeconds));
            return Task.FromResult(AuthenticateResult.Fail("Too many wrong admin tokens from this address."));
        }
        if (!header.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) ||
            !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[Prefix.Length..].Trim()), Encoding.UTF8.GetBytes(token)))
        {
            throttle.Failed(address);
            return Task.FromResult(AuthenticateResult.Fail("The bearer token is not valid for this coordinator."));
        }
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "")], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (_refusedFor is { } wait)
        {
            Response.StatusCode = StatusCodes.Status429TooManyRequests;
            Response.Headers.RetryAfter = ((int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Task.CompletedTask;
        }
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        return Task.CompletedTask;
    }
}

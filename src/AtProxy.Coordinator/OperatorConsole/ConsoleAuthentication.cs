using System.Security.Claims;
using AtProxy.Coordinator.Configuration;
using AtProxy.Coordinator.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Options;

namespace AtProxy.Coordinator.OperatorConsole;

/// <summary>
/// Who may use the admin endpoint. With a token set (<see cref="AdminCredential"/>): a browser signs in
/// once with it and carries an HttpOnly, SameSite=Strict cookie that holds a name, never the token;
/// a scraper or script sends <c>Authorization: Bearer &lt;token&gt;</c> on each request. Without a
/// token the endpoint listens on loopback only (the options validator refuses anything else) and
/// every request is allowed.
/// </summary>
internal static class ConsoleAuthentication
{
    public const string OperatorPolicy = "atproxy-operator";
    public const string CookieScheme = "atproxy-console";
    public const string CookieName = "atproxy-console";
    private const string ChooseScheme = "atproxy-admin";

    public static void Add(IServiceCollection services)
    {
        // No default scheme: gRPC calls pass the authentication middleware untouched; the operator
        // policy names the scheme, so only requests to the admin endpoint are authenticated.
        services.AddAuthentication()
            // A request that carries a bearer token is judged by it alone; any other by its cookie.
            .AddPolicyScheme(ChooseScheme, null, policy => policy.ForwardDefaultSelector = context =>
                context.Request.Headers.Authorization.Count > 0 ? BearerTokenAuthenticationHandler.SchemeName : CookieScheme)
            .AddScheme<AuthenticationSchemeOptions, BearerTokenAuthenticationHandler>(BearerTokenAuthenticationHandler.SchemeName, null)
            .AddCookie(CookieScheme, cookie =>
            {
                cookie.Cookie.Name = CookieName;
                cookie.Cookie.HttpOnly = true;
                cookie.Cookie.SameSite = SameSiteMode.Strict;
                cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                cookie.LoginPath = "/signin";
                cookie.LogoutPath = "/signout";
                cookie.ExpireTimeSpan = TimeSpan.FromHours(8);
                cookie.SlidingExpiration = true;
                cookie.Events.OnRedirectToLogin = context =>
                {
                    // A scraper cannot sign in; it is told what to send instead of being sent to a form.
                    if (context.Request.Path.StartsWithSegments(AdminEndpoint.MetricsPath))
                    {
                        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                        context.Response.Headers.WWWAuthenticate = "Bearer";
                        return Task.CompletedTask;
                    }
                    context.Response.Redirect(context.RedirectUri);
                    return Task.CompletedTask;
                };
            });
        services.AddAuthorization();
        services.AddSingleton<IConfigureOptions<Microsoft.AspNetCore.Authorization.AuthorizationOptions>, OperatorPolicySetup>();
    }

    /// <summary>The operator's name for the history: <c>console:&lt;name given at sign-in&gt;</c>, or <c>console</c>.</summary>
    public static string ActorOf(ClaimsPrincipal user) =>
        user.Identity is { IsAuthenticated: true, Name: { Length: > 0 } name } ? $"console:{name}" : "console";

    /// <summary>A name as typed at sign-in, kept printable and short; empty when nothing usable is left.</summary>
    public static string CleanName(string? name) =>
        new string((name ?? "").Where(c => c is >= ' ' and <= '~').Take(64).ToArray()).Trim();

    private sealed class OperatorPolicySetup(IOptions<CoordinatorOptions> options) : IConfigureOptions<Microsoft.AspNetCore.Authorization.AuthorizationOptions>
    {
        public void Configure(Microsoft.AspNetCore.Authorization.AuthorizationOptions authorization) =>
            authorization.AddPolicy(OperatorPolicy, policy =>
            {
                policy.AuthenticationSchemes.Add(ChooseScheme);
                if (AdminCredential.Of(options.Value) is null)
                {
                    policy.RequireAssertion(_ => true); // loopback only, said on every page
                }
                else
                {
                    policy.RequireAuthenticatedUser();
                }
            });
    }
}

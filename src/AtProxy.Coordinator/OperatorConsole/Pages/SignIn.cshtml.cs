using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using AtProxy.Coordinator.Configuration;
using AtProxy.Coordinator.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace AtProxy.Coordinator.OperatorConsole.Pages;

/// <summary>
/// Exchanges the admin token for the console's cookie, which holds the operator's name and never
/// the token. The token travels in the form body only, never in a URL, and is never logged.
/// </summary>
internal sealed class SignInModel(IOptions<CoordinatorOptions> options, AdminTokenThrottle throttle, ILogger<SignInModel> logger) : ConsolePage
{
    public string? Error { get; private set; }

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync(string? token, string? name)
    {
        if (AdminCredential.Of(options.Value) is not { } expected)
        {
            return LocalRedirect("/");
        }
        var address = HttpContext.Connection.RemoteIpAddress;
        if (throttle.RefusedFor(address) is { } wait)
        {
            var seconds = (int)Math.Ceiling(wait.TotalSeconds);
            Log.AdminTokenThrottled(logger, address?.ToString() ?? "?", seconds);
            Error = $"Too many wrong admin tokens from this address: try again in {seconds} s.";
            Response.StatusCode = StatusCodes.Status429TooManyRequests;
            Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Page();
        }
        if (string.IsNullOrEmpty(token) ||
            !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(token), Encoding.UTF8.GetBytes(expected)))
        {
            throttle.Failed(address);
            Log.ConsoleSignInRefused(logger, address?.ToString() ?? "?");
            Error = "That is not this coordinator's admin token.";
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Page();
        }
        var operatorName = ConsoleAuthentication.CleanName(name);
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, operatorName)], ConsoleAuthentication.CookieScheme);
        await HttpContext.SignInAsync(ConsoleAuthentication.CookieScheme, new ClaimsPrincipal(identity));
        Log.ConsoleSignedIn(logger, ConsoleAuthentication.ActorOf(new ClaimsPrincipal(identity)), HttpContext.Connection.RemoteIpAddress?.ToString() ?? "?");
        return LocalRedirect(Url.IsLocalUrl(ReturnUrl) ? ReturnUrl : "/");
    }
}

using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;

namespace AtProxy.Coordinator.OperatorConsole.Pages;

/// <summary>Drops the console's cookie (a POST, so another site cannot sign an operator out).</summary>
internal sealed class SignOutModel : ConsolePage
{
    public IActionResult OnGet() => LocalRedirect("/");

    public async Task<IActionResult> OnPostAsync()
    {
        await HttpContext.SignOutAsync(ConsoleAuthentication.CookieScheme);
        return LocalRedirect("/signin");
    }
}

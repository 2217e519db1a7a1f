using AtProxy.Coordinator.Admin;
using AtProxy.Coordinator.Configuration;
using AtProxy.Coordinator.Security;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;

namespace AtProxy.Coordinator.OperatorConsole;

/// <summary>
/// What every console page has: the coordinator's admin operations (the same ones the gRPC admin
/// service calls), the clock, and whether admin access is open.
/// </summary>
internal abstract class ConsolePage : PageModel
{
    protected AdminOperations Admin => HttpContext.RequestServices.GetRequiredService<AdminOperations>();

    public long NowUnixMs => HttpContext.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>No token protects admin access: the layout says that anyone on this machine can intervene.</summary>
    public bool OpenAccess => AdminCredential.Of(HttpContext.RequestServices.GetRequiredService<IOptions<CoordinatorOptions>>().Value) is null;

    /// <summary>The identity recorded with this operator's interventions.</summary>
    public string Actor => ConsoleAuthentication.ActorOf(User);
}

using AtProxy.Coordinator.Configuration;

namespace AtProxy.Coordinator.Security;

/// <summary>
/// Says in words which calls the configured tokens protect, for the start-up log: a coordinator
/// whose admin calls are open should say so, not leave it to be found out.
/// The rules are <see cref="BearerTokenInterceptor"/>'s.
/// </summary>
internal static class CallProtection
{
    public static string Application(CoordinatorOptions options) =>
        string.IsNullOrEmpty(options.ApplicationToken)
            ? "open, no token required (set Coordinator:ApplicationToken to require one)"
            : "protected by Coordinator:ApplicationToken";

    public static string Admin(CoordinatorOptions options) =>
        !string.IsNullOrEmpty(options.AdminToken) ? "protected by Coordinator:AdminToken"
        : !string.IsNullOrEmpty(options.ApplicationToken) ? "protected by Coordinator:ApplicationToken (no Coordinator:AdminToken set)"
        : "open, no token required (set Coordinator:AdminToken to require one)";

    public static string AdminEndpoint(CoordinatorOptions options) =>
        AdminCredential.Of(options) is null
            ? "open on loopback, anyone on this machine can intervene (set Coordinator:AdminToken to require sign-in)"
            : "sign-in or a bearer token required (the admin token); /healthz open";
}

using AtProxy.Coordinator.Configuration;

namespace AtProxy.Coordinator.Security;

/// <summary>
/// The token an operator presents, for gRPC admin calls and the admin endpoint alike: the admin
/// token, else the application token (an application that may call the coordinator may also
/// operate it when no separate admin token was set), else none: admin access is open.
/// </summary>
internal static class AdminCredential
{
    public static string? Of(CoordinatorOptions options) =>
        !string.IsNullOrEmpty(options.AdminToken) ? options.AdminToken
        : !string.IsNullOrEmpty(options.ApplicationToken) ? options.ApplicationToken
        : null;
}

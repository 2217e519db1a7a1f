namespace AtProxy.Coordinator.OperatorConsole;

/// <summary>
/// Keeps the two listeners apart: a console page or <c>/metrics</c> asked on a gRPC port, and a gRPC
/// call made to an admin port, are answered 404 as if the path did not exist there.
/// </summary>
internal sealed class AdminPortFilter(RequestDelegate next, AdminPorts adminPorts)
{
    public Task InvokeAsync(HttpContext context)
    {
        var onAdminPort = adminPorts.Contains(context.Connection.LocalPort);
        var adminEndpoint = context.GetEndpoint()?.Metadata.Contains(AdminPorts.Marker) ?? false;
        if (onAdminPort != adminEndpoint)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }
        return next(context);
    }
}

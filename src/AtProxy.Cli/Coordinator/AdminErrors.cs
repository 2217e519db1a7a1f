using Grpc.Core;

namespace AtProxy.Cli.Coordinator;

/// <summary>
/// The one place where the coordinator's gRPC status codes become exit codes and one-line
/// messages that say what to do next.
/// </summary>
internal static class AdminErrors
{
    public static CliFailure From(RpcException ex, Uri address)
    {
        var detail = ex.Status.Detail;
        return ex.StatusCode switch
        {
            StatusCode.Unavailable or StatusCode.DeadlineExceeded => CliFailure.Unreachable(
                $"Cannot reach the coordinator at {address} ({Describe(ex)}). Check that it is running, or point --coordinator or ${CommonOptions.CoordinatorVariable} at it.", ex),
            StatusCode.Unauthenticated => CliFailure.Refused(
                $"The coordinator at {address} refused the admin token: {detail} Set ${CommonOptions.AdminTokenVariable} to the coordinator's admin token."),
            StatusCode.PermissionDenied => CliFailure.Refused(
                $"The coordinator at {address} refused the call: {detail} Set ${CommonOptions.AdminTokenVariable} to the admin token, not the application token."),
            StatusCode.InvalidArgument => CliFailure.Usage($"The coordinator rejected the request: {detail} Fix the argument and try again."),
            StatusCode.NotFound => CliFailure.Refused($"{detail} Run 'atproxy tx list' to see what the coordinator holds."),
            StatusCode.FailedPrecondition => CliFailure.Refused($"The coordinator refused: {detail}"),
            StatusCode.Unimplemented => CliFailure.Refused(
                $"The server at {address} does not serve AtProxy's admin API ({detail}). Check that --coordinator names an AtProxy coordinator."),
            // A plain HTTP server, a proxy or TLS in the way: the coordinator is not reachable as gRPC.
            StatusCode.Internal or StatusCode.Unknown when ex.InnerException is HttpRequestException or IOException => CliFailure.Unreachable(
                $"Cannot talk gRPC to {address} ({Describe(ex)}). Check the address and scheme given with --coordinator or ${CommonOptions.CoordinatorVariable}.", ex),
            _ => CliFailure.Refused($"The coordinator at {address} failed the call ({ex.StatusCode}): {detail}"),
        };
    }

    private static string Describe(RpcException ex)
    {
        // The innermost exception names the cause ("Connection refused"); gRPC's own detail is generic.
        Exception cause = ex;
        while (cause.InnerException is not null)
        {
            cause = cause.InnerException;
        }
        var text = ReferenceEquals(cause, ex) ? ex.Status.Detail : cause.Message;
        return text.TrimEnd('.');
    }
}

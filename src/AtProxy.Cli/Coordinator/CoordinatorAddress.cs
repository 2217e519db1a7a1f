namespace AtProxy.Cli.Coordinator;

/// <summary>Where the coordinator is: --coordinator, else ATPROXY_COORDINATOR, else the local default.</summary>
internal static class CoordinatorAddress
{
    public static Uri Resolve(string? option)
    {
        var (text, source) = option is { Length: > 0 }
            ? (option, "--coordinator")
            : Environment.GetEnvironmentVariable(CommonOptions.CoordinatorVariable) is { Length: > 0 } configured
                ? (configured, CommonOptions.CoordinatorVariable)
                : (CommonOptions.DefaultCoordinator, "the default");
        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var address) || (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps))
        {
            throw CliFailure.Usage($"The coordinator address '{text}' from {source} is not an http:// or https:// URL; pass e.g. --coordinator {CommonOptions.DefaultCoordinator}.");
        }
        return address;
    }
}

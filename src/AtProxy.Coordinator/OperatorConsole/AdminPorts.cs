namespace AtProxy.Coordinator.OperatorConsole;

/// <summary>The ports of the admin endpoint, and the mark its endpoints carry.</summary>
internal sealed class AdminPorts(IReadOnlySet<int> ports)
{
    /// <summary>Endpoint metadata: served on the admin ports only.</summary>
    public static readonly object Marker = new AdminEndpointMarker();

    public bool Contains(int port) => ports.Contains(port);

    private sealed class AdminEndpointMarker;
}

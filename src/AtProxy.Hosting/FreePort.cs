using System.Net;
using System.Net.Sockets;

namespace AtProxy.Hosting;

/// <summary>Finds a TCP port on 127.0.0.1 that nothing listens on right now.</summary>
public static class FreePort
{
    /// <summary>A free port (another program could still take it before it is bound).</summary>
    public static int Find()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

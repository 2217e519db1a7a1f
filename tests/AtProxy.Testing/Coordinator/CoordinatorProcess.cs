using AtProxy.Hosting;
using Grpc.Net.Client;

namespace AtProxy.Testing.Coordinator;

/// <summary>
/// The real, built coordinator running as an OS process on a free 127.0.0.1 port with a data
/// directory of its own (see <see cref="CoordinatorServer"/>). It can be killed with SIGKILL
/// (<see cref="Kill"/>) and started again on the same data directory and port
/// (<see cref="RestartAsync"/>); dispose stops it and deletes a temporary data directory.
/// <code>
/// await using var coordinator = await CoordinatorProcess.StartAsync();
/// var tm = new TransactionManager.TransactionManagerClient(coordinator.Channel);
/// </code>
/// </summary>
public sealed class CoordinatorProcess : IAsyncDisposable
{
    private readonly CoordinatorServer _server;

    private CoordinatorProcess(CoordinatorServer server) => _server = server;

    /// <summary>The coordinator's address, e.g. http://127.0.0.1:41234 (the same after a restart).</summary>
    public Uri Address => _server.Address;

    /// <summary>A channel to the coordinator; it reconnects by itself after a restart.</summary>
    public GrpcChannel Channel => _server.Channel;

    /// <summary>The data directory of the embedded store.</summary>
    public string DataDirectory => _server.DataDirectory;

    /// <summary>The DLL being run.</summary>
    public string Dll => _server.Dll;

    /// <summary>The OS process id of the running coordinator.</summary>
    public int ProcessId => _server.ProcessId;

    /// <summary>True while the coordinator process runs.</summary>
    public bool IsRunning => _server.IsRunning;

    /// <summary>The coordinator's recent output (stdout and stderr), for failure messages.</summary>
    public string Output => _server.Output;

    /// <summary>Starts the coordinator and waits until its health service answers SERVING.</summary>
    public static async Task<CoordinatorProcess> StartAsync(CoordinatorProcessOptions? options = null, CancellationToken cancellationToken = default) =>
        new(await CoordinatorServer.StartAsync(options, cancellationToken));

    /// <summary>Kills the process with SIGKILL (no shutdown of any kind) and waits until it is gone.</summary>
    public void Kill() => _server.Kill();

    /// <summary>Starts the coordinator again on the same data directory and port (after <see cref="Kill"/> or <see cref="StopAsync"/>).</summary>
    public Task RestartAsync(CancellationToken cancellationToken = default) => _server.RestartAsync(cancellationToken);

    /// <summary>Stops the coordinator gracefully (SIGTERM), killing it when it does not exit within <paramref name="grace"/>.</summary>
    public Task StopAsync(TimeSpan? grace = null) => _server.StopAsync(grace);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _server.DisposeAsync();
}

using System.Globalization;
using AtProxy.Protocol.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace AtProxy.Demo.Hosting;

/// <summary>
/// The real coordinator (<c>AtProxy.Coordinator.dll</c>, built next to the demo) as a process of
/// its own, with its embedded store in the demo's directory. It stops by itself when the demo's
/// process is gone (<c>--parent-pid</c>).
/// </summary>
internal sealed class CoordinatorServer : IAsyncDisposable
{
    private const string FileName = "AtProxy.Coordinator.dll";
    private readonly ChildProcess _process;

    private CoordinatorServer(ChildProcess process, Uri address)
    {
        _process = process;
        Address = address;
        Channel = GrpcChannel.ForAddress(address);
        Admin = new Admin.AdminClient(Channel);
    }

    /// <summary>The coordinator's gRPC address.</summary>
    public Uri Address { get; }

    /// <summary>A channel to the coordinator.</summary>
    public GrpcChannel Channel { get; }

    /// <summary>The coordinator's admin API (what the <c>atproxy</c> CLI calls).</summary>
    public Admin.AdminClient Admin { get; }

    /// <summary>Starts the coordinator and waits until its admin API answers.</summary>
    public static async Task<CoordinatorServer> StartAsync(string dataDirectory, CancellationToken cancellationToken)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, FileName);
        if (!File.Exists(dll))
        {
            throw new DemoSetupException($"The coordinator ({dll}) was not built next to the demo; build the solution first.");
        }
        Directory.CreateDirectory(dataDirectory);
        var address = new Uri($"http://127.0.0.1:{FreePort.Find().ToString(CultureInfo.InvariantCulture)}");
        var process = ChildProcess.Start("coordinator", "dotnet",
        [
            dll,
            "--urls", address.ToString().TrimEnd('/'),
            "--store", "embedded",
            "--data-dir", dataDirectory,
            "--parent-pid", Environment.ProcessId.ToString(CultureInfo.InvariantCulture),
            // Phase 2 of a branch whose service is down is retried soon after it is back.
            "--Coordinator:RetryInitialDelayMs=200",
            "--Coordinator:RetryMaxDelayMs=2000",
        ]);
        var server = new CoordinatorServer(process, address);
        try
        {
            await server.WaitUntilServingAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>The resource ids whose resource managers are connected for phase 2.</summary>
    public async Task<IReadOnlySet<string>> ConnectedResourcesAsync(CancellationToken cancellationToken)
    {
        var status = await Admin.GetCoordinatorStatusAsync(new GetCoordinatorStatusRequest(), cancellationToken: cancellationToken);
        return status.ResourceManagers.SelectMany(rm => rm.ResourceIds).ToHashSet(StringComparer.Ordinal);
    }

    private async Task WaitUntilServingAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                await Admin.GetCoordinatorStatusAsync(new GetCoordinatorStatusRequest(), deadline: DateTime.UtcNow.AddSeconds(5), cancellationToken: cancellationToken);
                return;
            }
            catch (RpcException) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                await Task.Delay(100, cancellationToken);
            }
            catch (RpcException ex)
            {
                throw new DemoSetupException($"The coordinator did not start on {Address}: {ex.Status.Detail}\nIts output:\n{_process.OutputTail}");
            }
        }
    }

    /// <summary>Stops the coordinator.</summary>
    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await _process.DisposeAsync();
    }
}

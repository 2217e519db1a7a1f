using System.Globalization;
using AtProxy.Demo.Services;
using AtProxy.Hosting;

namespace AtProxy.Demo.Hosting;

/// <summary>
/// One of the demo's two services, run as a separate process of the demo's own executable
/// (<c>AtProxy.Demo service --role ...</c>). It can be killed and started again on the same port.
/// </summary>
internal sealed class ServiceProcess : IAsyncDisposable
{
    private static readonly HttpClient Probe = new() { Timeout = TimeSpan.FromSeconds(2) };
    private readonly ServiceSettings _settings;
    private ChildProcess _process;

    private ServiceProcess(ServiceSettings settings, ChildProcess process)
    {
        _settings = settings;
        _process = process;
    }

    /// <summary>The service's HTTP address.</summary>
    public Uri Address => _settings.Address;

    /// <summary>True once the current instance has ended (killed, or died by itself).</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The current instance's last lines of output.</summary>
    public string OutputTail => _process.OutputTail;

    /// <summary>The OS process id of the current instance.</summary>
    public int ProcessId => _process.Id;

    /// <summary>What the demo calls the service.</summary>
    public string Name => _process.Name;

    /// <summary>Starts the service and waits until it answers <c>/health</c>.</summary>
    /// <param name="settings">What to run.</param>
    /// <param name="cancellationToken">Stops the wait.</param>
    /// <param name="environment">Environment variables for this instance only (not for one started by <see cref="RestartAsync"/>).</param>
    public static async Task<ServiceProcess> StartAsync(ServiceSettings settings, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? environment = null)
    {
        var service = new ServiceProcess(settings, Launch(settings, environment));
        try
        {
            await service.WaitUntilHealthyAsync(cancellationToken);
            return service;
        }
        catch
        {
            await service.DisposeAsync();
            throw;
        }
    }

    /// <summary>Kills the service with SIGKILL: requests in flight are cut off mid-way.</summary>
    public void Kill() => _process.Kill();

    /// <summary>Starts a new instance on the same port after <see cref="Kill"/> and waits until it answers.</summary>
    public async Task RestartAsync(CancellationToken cancellationToken)
    {
        await _process.DisposeAsync();
        _process = Launch(_settings, null);
        await WaitUntilHealthyAsync(cancellationToken);
    }

    /// <summary>Stops the service.</summary>
    public ValueTask DisposeAsync() => _process.DisposeAsync();

    private static ChildProcess Launch(ServiceSettings settings, IReadOnlyDictionary<string, string>? environment)
    {
        var demo = typeof(ServiceProcess).Assembly.Location;
        var arguments = new List<string> { demo, "service" };
        arguments.AddRange(settings.ToArguments());
        arguments.AddRange(["--parent-pid", Environment.ProcessId.ToString(CultureInfo.InvariantCulture)]);
        return ChildProcess.Start(settings.Role == ServiceRole.Orders ? "order service" : "inventory service", "dotnet", arguments,
            new ChildProcessOptions { Environment = environment ?? new Dictionary<string, string>(StringComparer.Ordinal) });
    }

    private async Task WaitUntilHealthyAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new DemoSetupException($"The {Name} exited while starting. Its output:\n{_process.OutputTail}");
            }
            try
            {
                using var response = await Probe.GetAsync(new Uri(Address, "/health"), cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new DemoSetupException($"The {Name} did not answer on {Address} within 60 s. Its output:\n{_process.OutputTail}");
            }
            await Task.Delay(50, cancellationToken);
        }
    }
}

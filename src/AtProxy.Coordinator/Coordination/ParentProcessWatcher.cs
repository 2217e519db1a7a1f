using AtProxy.Coordinator.Configuration;
using AtProxy.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace AtProxy.Coordinator.Coordination;

/// <summary>Stops the coordinator when the process named by <see cref="CoordinatorOptions.ParentProcessId"/> has exited.</summary>
internal sealed class ParentProcessWatcher(IOptions<CoordinatorOptions> options, IHostApplicationLifetime lifetime) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.ParentProcessId is not { } pid)
        {
            return;
        }
        await ProcessLiveness.WaitUntilGoneAsync(pid, stoppingToken).ConfigureAwait(false);
        lifetime.StopApplication();
    }
}

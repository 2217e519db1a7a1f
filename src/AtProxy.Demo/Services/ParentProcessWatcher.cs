using System.Diagnostics;
using Microsoft.Extensions.Hosting;

namespace AtProxy.Demo.Services;

/// <summary>Stops the service once the demo that started it is gone, so a killed demo leaves no service behind.</summary>
internal sealed class ParentProcessWatcher(int parentProcessId, IHostApplicationLifetime lifetime) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            if (!IsAlive(parentProcessId))
            {
                lifetime.StopApplication();
                return;
            }
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}

using Microsoft.Extensions.Hosting;

namespace AtProxy.Hosting;

/// <summary>
/// Stops the application once the process that started it is gone, so a parent that was killed
/// leaves no child server behind.
/// </summary>
/// <param name="parentProcessId">The process id of the parent (what <c>--parent-pid</c> names).</param>
/// <param name="lifetime">The application to stop.</param>
public sealed class ParentProcessWatcher(int parentProcessId, IHostApplicationLifetime lifetime) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await ProcessLiveness.WaitUntilGoneAsync(parentProcessId, stoppingToken).ConfigureAwait(false);
        lifetime.StopApplication();
    }
}

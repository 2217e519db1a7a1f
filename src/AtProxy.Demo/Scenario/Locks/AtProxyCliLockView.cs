using System.Diagnostics;

namespace AtProxy.Demo.Scenario.Locks;

/// <summary>
/// Runs the operator tool itself, <c>atproxy locks list --coordinator URL</c>, built next to the
/// demo, and passes its output through: what an operator would see.
/// </summary>
internal sealed class AtProxyCliLockView : ILockView
{
    /// <inheritdoc />
    public async Task ShowAsync(Uri coordinator, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false };
        foreach (var argument in new[] { FindCli(), "locks", "list", "--coordinator", coordinator.ToString() })
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException("The atproxy CLI could not be started.");
        await process.WaitForExitAsync(cancellationToken);
    }

    private static string FindCli()
    {
        var cli = Path.Combine(AppContext.BaseDirectory, "AtProxy.Cli.dll");
        return File.Exists(cli) ? cli : throw new FileNotFoundException($"The atproxy CLI was not built next to the demo ({cli}).", cli);
    }
}

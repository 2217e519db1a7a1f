using System.Diagnostics;

namespace AtProxy.Demo.Scenario.Locks;

/// <summary>
/// Runs the operator tool itself, <c>atproxy locks list --coordinator URL</c>, from the
/// repository's build of <c>src/AtProxy.Cli</c>, and passes its output through: what an
/// operator would see.
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
        // The demo runs from src/AtProxy.Demo/bin/<configuration>/<framework>/; the CLI builds to the same place in its project.
        var framework = new DirectoryInfo(AppContext.BaseDirectory);
        var configuration = framework.Parent!;
        var cli = Path.Combine(configuration.Parent!.Parent!.Parent!.FullName, "AtProxy.Cli", "bin", configuration.Name, framework.Name, "AtProxy.Cli.dll");
        return File.Exists(cli) ? cli : throw new FileNotFoundException($"The atproxy CLI was not built ({cli}).", cli);
    }
}

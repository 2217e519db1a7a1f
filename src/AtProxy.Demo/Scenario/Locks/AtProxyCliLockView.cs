using System.Diagnostics;
using AtProxy.Hosting;

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

    // The demo builds the CLI (a project reference that copies nothing): find it under src/AtProxy.Cli/bin.
    private static string FindCli() => BuiltProgram.Find("AtProxy.Cli", "ATPROXY_CLI_DLL");
}

using System.Diagnostics;

namespace AtProxy.Cli.Tests.Support;

/// <summary>Runs the built CLI as an OS process (<c>dotnet AtProxy.Cli.dll ...</c>) with a chosen environment.</summary>
public sealed class CliRunner(IReadOnlyDictionary<string, string?> environment)
{
    private static readonly Lazy<string> Dll = new(CliBinary.Find);
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The variables a run starts with; <c>null</c> removes an inherited one.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; } = environment;

    public Task<CliResult> RunAsync(params string[] arguments) => RunAsync(arguments, standardInput: null, overrides: null);

    public async Task<CliResult> RunAsync(string[] arguments, string? standardInput, IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Dll.Value);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var (name, value) in Environment.Concat(overrides ?? new Dictionary<string, string?>()))
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (standardInput is not null)
        {
            await process.StandardInput.WriteAsync(standardInput);
        }
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(RunTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'atproxy {string.Join(' ', arguments)}' did not exit within {RunTimeout.TotalSeconds} s.");
        }
        return new CliResult(arguments, process.ExitCode, await output, await error);
    }
}

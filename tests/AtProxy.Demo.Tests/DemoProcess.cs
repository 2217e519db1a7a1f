using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace AtProxy.Demo.Tests;

/// <summary>Runs the built demo (<c>src/AtProxy.Demo/bin/...</c>) as a process and reads its JSON report.</summary>
internal static class DemoProcess
{
    public sealed record Result(int ExitCode, string Output, JsonElement Report);

    public static Task<Result> RunAsync(params string[] arguments) => RunAsync(TimeSpan.FromMinutes(3), arguments);

    public static async Task<Result> RunAsync(TimeSpan limit, params string[] arguments)
    {
        var report = Path.Combine(Path.GetTempPath(), $"atproxy-demo-test-{Guid.NewGuid():N}.json");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(FindDemo());
        foreach (var argument in arguments.Concat(["--report", report]))
        {
            start.ArgumentList.Add(argument);
        }
        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"The demo did not finish within {limit.TotalMinutes:0} minutes:\n{output}");
        }
        process.WaitForExit();
        try
        {
            var json = File.Exists(report) ? JsonDocument.Parse(await File.ReadAllTextAsync(report)).RootElement.Clone() : default;
            return new Result(process.ExitCode, output.ToString(), json);
        }
        finally
        {
            File.Delete(report);
        }
    }

    private static string FindDemo()
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var demo = Path.Combine(dir.FullName, "src", "AtProxy.Demo", "bin", configuration, "net10.0", "AtProxy.Demo.dll");
            if (File.Exists(demo))
            {
                return demo;
            }
        }
        throw new FileNotFoundException($"The demo's build output (src/AtProxy.Demo/bin/{configuration}) was not found above {AppContext.BaseDirectory}.");
    }
}

using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace AtProxy.Demo.Hosting;

/// <summary>
/// Runs PostgreSQL's command-line programs to completion, as the <c>postgres</c> OS user when
/// the demo runs as root (PostgreSQL refuses to run as root).
/// </summary>
internal static class ServerCommand
{
    public const string ServerUser = "postgres";

    [DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint GetEffectiveUserId();

    public static bool IsRoot { get; } = OperatingSystem.IsLinux() && GetEffectiveUserId() == 0;

    public sealed record Result(int ExitCode, string Output);

    /// <summary>Runs a program and returns its exit code and combined output.</summary>
    public static async Task<Result> RunAsync(string fileName, IEnumerable<string> arguments, bool asServerUser, TimeSpan timeout)
    {
        var start = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (asServerUser && IsRoot)
        {
            start.FileName = "runuser";
            foreach (var prefix in new[] { "-u", ServerUser, "--", fileName })
            {
                start.ArgumentList.Add(prefix);
            }
        }
        else
        {
            start.FileName = fileName;
        }
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["LC_ALL"] = "C";

        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{start.FileName} {string.Join(' ', start.ArgumentList)}' did not finish within {timeout}.\n{output}");
        }
        process.WaitForExit(); // flushes the asynchronous output readers
        lock (output)
        {
            return new Result(process.ExitCode, output.ToString());
        }
    }

    /// <summary>Gives a directory to the server user so the server can own its data.</summary>
    public static async Task GiveToServerUserAsync(string path)
    {
        if (!IsRoot)
        {
            return;
        }
        var result = await RunAsync("chown", ["-R", $"{ServerUser}:{ServerUser}", path], asServerUser: false, TimeSpan.FromSeconds(30));
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"Could not give {path} to the '{ServerUser}' user: {result.Output}");
        }
    }
}

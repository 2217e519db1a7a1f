using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace AtProxy.Hosting;

/// <summary>
/// Runs command-line programs (PostgreSQL's initdb and pg_ctl, chown) to completion, as the
/// <c>postgres</c> OS user when this process is root: PostgreSQL refuses to run as root.
/// </summary>
public static class ProcessRunner
{
    /// <summary>The OS user PostgreSQL's programs run as when this process is root.</summary>
    public const string ServerUser = "postgres";

    /// <summary>True when this process runs as root on Linux.</summary>
    public static bool IsRoot { get; } = OperatingSystem.IsLinux() && GetEffectiveUserId() == 0;

    /// <summary>Runs a program and returns its exit code and combined output.</summary>
    /// <param name="fileName">The program.</param>
    /// <param name="arguments">Its arguments, passed as they are (no shell).</param>
    /// <param name="asServerUser">Run it as <see cref="ServerUser"/> when this process is root.</param>
    /// <param name="timeout">How long it may take; then it is killed and <see cref="TimeoutException"/> thrown.</param>
    /// <param name="workingDirectory">Where it runs; null for this process's working directory.</param>
    public static async Task<ProcessResult> RunAsync(string fileName, IEnumerable<string> arguments, bool asServerUser, TimeSpan timeout, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory ?? "" };
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
        // A server started by pg_ctl must not inherit the caller's locale quirks.
        start.Environment["LC_ALL"] = "C";

        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{start.FileName} {string.Join(' ', start.ArgumentList)}' did not finish within {timeout}.\n{output}");
        }
        process.WaitForExit(); // flushes the asynchronous output readers
        lock (output)
        {
            return new ProcessResult(process.ExitCode, output.ToString());
        }
    }

    /// <summary>Gives a directory to <see cref="ServerUser"/> (when root) so the server can own its data.</summary>
    public static async Task GiveToServerUserAsync(string path)
    {
        if (!IsRoot)
        {
            return;
        }
        var result = await RunAsync("chown", ["-R", $"{ServerUser}:{ServerUser}", path], asServerUser: false, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"Could not give {path} to the '{ServerUser}' user: {result.Output}");
        }
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (output)
        {
            output.AppendLine(line);
        }
    }

    [DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint GetEffectiveUserId();
}

using System.Diagnostics;
using System.Text;

namespace AtProxy.Demo.Tests;

/// <summary>
/// Runs <c>dotnet pwsh ./build.ps1 ...</c> from the repository root as a user's terminal would:
/// in a process group of its own (<c>setsid</c>), so Ctrl+C can be sent the way a terminal sends
/// it, as SIGINT to the whole group.
/// </summary>
internal sealed class BuildScript : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private int _group;

    private BuildScript(Process process) => _process = process;

    /// <summary>Everything the script and its program printed so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static BuildScript Start(params string[] arguments)
    {
        // --wait: when setsid must fork (it was started as a group leader), it waits for the script and
        // returns its exit code, instead of exiting at once with 0.
        var start = new ProcessStartInfo("setsid")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepositoryRoot(),
        };
        // env --default-signal=INT: a terminal's program takes Ctrl+C, even when this test runs under a
        // parent that ignores SIGINT (a shell's background job), which its children would inherit.
        foreach (var argument in (string[])["--wait", "env", "--default-signal=INT", "dotnet", "pwsh", "./build.ps1", .. arguments])
        {
            start.ArgumentList.Add(argument);
        }
        var process = new Process { StartInfo = start };
        var script = new BuildScript(process);
        process.OutputDataReceived += (_, e) => script.Append(e.Data);
        process.ErrorDataReceived += (_, e) => script.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return script;
    }

    /// <summary>Sends SIGINT to the script's process group: what Ctrl+C in its terminal does.</summary>
    public void Interrupt()
    {
        // setsid runs the script as the leader of a new group: the group's id is its process id.
        using var kill = Process.Start("kill", ["-INT", "--", $"-{ScriptGroup()}"]);
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>Waits for the script to end and returns its exit code; kills its group after <paramref name="timeout"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"build.ps1 did not finish within {timeout}:\n{Output}");
        }
        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>The processes still in the script's group (none once everything it started has stopped).</summary>
    public IReadOnlyList<int> ProcessesLeftInGroup() =>
        Directory.EnumerateDirectories("/proc")
            .Select(dir => int.TryParse(Path.GetFileName(dir), out var pid) ? pid : 0)
            .Where(pid => pid > 0 && GroupOf(pid) == _group)
            .ToList();

    // The script's own process group: setsid's when it ran the script itself, else that of the child
    // it forked to lead a new session.
    private int ScriptGroup()
    {
        if (_group == 0)
        {
            _group = Stat(_process.Id).Group == _process.Id
                ? _process.Id
                : Directory.EnumerateDirectories("/proc")
                    .Select(dir => int.TryParse(Path.GetFileName(dir), out var pid) ? pid : 0)
                    .Where(pid => pid > 0 && Stat(pid).Parent == _process.Id)
                    .Select(pid => Stat(pid).Group)
                    .FirstOrDefault(group => group > 0);
            Assert.True(_group > 0, $"build.ps1's process group was not found under setsid (pid {_process.Id}).");
        }
        return _group;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        _process.Dispose();
    }

    private static int GroupOf(int pid) => Stat(pid).Group;

    private static (int Parent, int Group) Stat(int pid)
    {
        try
        {
            // /proc/<pid>/stat: "pid (comm) state ppid pgrp ...", comm may contain spaces.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture), int.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (IOException)
        {
            return (0, 0);
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "build.ps1")))
            {
                return dir.FullName;
            }
        }
        throw new FileNotFoundException($"build.ps1 was not found above {AppContext.BaseDirectory}.");
    }
}

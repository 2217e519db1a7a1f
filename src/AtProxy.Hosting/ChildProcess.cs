using System.Diagnostics;
using System.Runtime.InteropServices;

namespace AtProxy.Hosting;

/// <summary>
/// A long-running program this process started and must stop: its output is kept (the last
/// lines) instead of being mixed into the caller's own, so a failure can show what the program
/// said. Its standard input is redirected so it never reads the caller's terminal.
/// </summary>
public sealed class ChildProcess : IAsyncDisposable
{
    /// <summary>How many lines of output are kept unless the caller says otherwise.</summary>
    public const int DefaultOutputLinesKept = 200;

    private const int SigTerm = 15;
    private readonly Queue<string> _output = new();
    private readonly int _outputLinesKept;
    private readonly Action<string>? _onLine;
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Process _process;

    private ChildProcess(string name, Process process, int outputLinesKept, Action<string>? onLine)
    {
        Name = name;
        _process = process;
        _outputLinesKept = outputLinesKept;
        _onLine = onLine;
    }

    /// <summary>What the caller calls this program (e.g. "inventory service").</summary>
    public string Name { get; }

    /// <summary>The OS process id.</summary>
    public int Id => _process.Id;

    /// <summary>True once the process has ended.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Completes when the process has ended.</summary>
    public Task Exited => _exited.Task;

    /// <summary>The program's last lines of output (stdout and stderr).</summary>
    public string OutputTail
    {
        get
        {
            lock (_output)
            {
                return string.Join(Environment.NewLine, _output);
            }
        }
    }

    /// <summary>Starts a program.</summary>
    /// <param name="name">What the caller calls the program, for messages.</param>
    /// <param name="fileName">The program to run.</param>
    /// <param name="arguments">Its arguments, passed as they are (no shell).</param>
    /// <param name="options">Environment, working directory, how much output to keep and who sees each line.</param>
    public static ChildProcess Start(string name, string fileName, IEnumerable<string> arguments, ChildProcessOptions? options = null)
    {
        options ??= new ChildProcessOptions();
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true, // keeps the child from reading the caller's terminal
            UseShellExecute = false,
        };
        if (options.WorkingDirectory is { } workingDirectory)
        {
            start.WorkingDirectory = workingDirectory;
        }
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (key, value) in options.Environment)
        {
            start.Environment[key] = value;
        }
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var child = new ChildProcess(name, process, options.OutputLinesKept, options.OnOutputLine);
        process.OutputDataReceived += (_, e) => child.Remember(e.Data);
        process.ErrorDataReceived += (_, e) => child.Remember(e.Data);
        process.Exited += (_, _) => child._exited.TrySetResult();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Ends the process at once with SIGKILL (no shutdown code of its own runs) and waits until it is gone and its output read.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: false);
            }
            _process.WaitForExit(); // also lets the output readers take the last lines
        }
        catch (InvalidOperationException)
        {
            // It ended on its own meanwhile.
        }
    }

    /// <summary>Asks the process to stop (SIGTERM) and kills it when it has not stopped within <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_process.HasExited)
        {
            return;
        }
        if (OperatingSystem.IsWindows() || SendSignal(_process.Id, SigTerm) != 0)
        {
            Kill();
            return;
        }
        using var wait = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Kill();
        }
    }

    /// <summary>Stops the process (SIGTERM, then SIGKILL after 5 s).</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        _process.Dispose();
    }

    private void Remember(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.Enqueue(line);
            while (_output.Count > _outputLinesKept)
            {
                _output.Dequeue();
            }
        }
        _onLine?.Invoke(line);
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);
}

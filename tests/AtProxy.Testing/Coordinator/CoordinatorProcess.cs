using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace AtProxy.Testing.Coordinator;

/// <summary>
/// The real, built coordinator running as an OS process on a free 127.0.0.1 port with a data
/// directory of its own. It can be killed with SIGKILL (<see cref="Kill"/>) and started again
/// on the same data directory and port (<see cref="RestartAsync"/>); dispose stops it and
/// deletes a temporary data directory.
/// <code>
/// await using var coordinator = await CoordinatorProcess.StartAsync();
/// var tm = new TransactionManager.TransactionManagerClient(coordinator.Channel);
/// </code>
/// </summary>
public sealed partial class CoordinatorProcess : IAsyncDisposable
{
    private const int OutputLinesKept = 400;
    private const string DirectoryPrefix = "atproxy-tc-";
    private readonly CoordinatorProcessOptions _options;
    private readonly bool _ownsDataDirectory;
    private readonly Queue<string> _output = new();
    private Process? _process;
    private int _port;
    private GrpcChannel? _channel;

    private CoordinatorProcess(CoordinatorProcessOptions options, string dataDirectory, bool ownsDataDirectory)
    {
        _options = options;
        DataDirectory = dataDirectory;
        _ownsDataDirectory = ownsDataDirectory;
        Dll = options.CoordinatorDll ?? CoordinatorBinary.Find();
    }

    /// <summary>The coordinator's address, e.g. http://127.0.0.1:41234 (the same after a restart).</summary>
    public Uri Address => new($"http://127.0.0.1:{_port.ToString(CultureInfo.InvariantCulture)}");

    /// <summary>A channel to the coordinator; it reconnects by itself after a restart.</summary>
    public GrpcChannel Channel => _channel ?? throw new InvalidOperationException("The coordinator has not started.");

    /// <summary>The data directory of the embedded store.</summary>
    public string DataDirectory { get; }

    /// <summary>The DLL being run.</summary>
    public string Dll { get; }

    /// <summary>The OS process id of the running coordinator.</summary>
    public int ProcessId => _process?.Id ?? throw new InvalidOperationException("The coordinator is not running.");

    /// <summary>True while the coordinator process runs.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The coordinator's recent output (stdout and stderr), for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join(Environment.NewLine, _output);
            }
        }
    }

    /// <summary>Starts the coordinator and waits until its health service answers SERVING.</summary>
    public static async Task<CoordinatorProcess> StartAsync(CoordinatorProcessOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new CoordinatorProcessOptions();
        var owns = options.DataDirectory is null;
        RemoveLeftovers();
        var dataDirectory = options.DataDirectory ?? Path.Combine(Path.GetTempPath(), $"{DirectoryPrefix}{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..12]}");
        Directory.CreateDirectory(dataDirectory);
        var coordinator = new CoordinatorProcess(options, dataDirectory, owns);
        try
        {
            await coordinator.LaunchAsync(cancellationToken);
            coordinator._channel = GrpcChannel.ForAddress(coordinator.Address, new GrpcChannelOptions
            {
                MaxReceiveMessageSize = null,
                MaxSendMessageSize = null,
            });
            await coordinator.WaitUntilServingAsync(cancellationToken);
            return coordinator;
        }
        catch
        {
            await coordinator.DisposeAsync();
            throw;
        }
    }

    /// <summary>Kills the process with SIGKILL (no shutdown of any kind) and waits until it is gone.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: false); // SIGKILL on Unix
            process.WaitForExit();
        }
    }

    /// <summary>Starts the coordinator again on the same data directory and port (after <see cref="Kill"/> or <see cref="StopAsync"/>).</summary>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        if (IsRunning)
        {
            throw new InvalidOperationException("The coordinator is still running; kill or stop it first.");
        }
        _process?.Dispose();
        _process = null;
        await LaunchAsync(cancellationToken);
        await WaitUntilServingAsync(cancellationToken);
    }

    /// <summary>Stops the coordinator gracefully (SIGTERM), killing it when it does not exit within <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan? grace = null)
    {
        if (_process is not { HasExited: false } process)
        {
            return;
        }
        if (OperatingSystem.IsWindows() || SendSignal(process.Id, SigTerm) != 0)
        {
            Kill();
            return;
        }
        using var wait = new CancellationTokenSource(grace ?? TimeSpan.FromSeconds(10));
        try
        {
            await process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process?.Dispose();
        _channel?.Dispose();
        if (_ownsDataDirectory)
        {
            try
            {
                Directory.Delete(DataDirectory, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
            }
        }
    }

    private async Task LaunchAsync(CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = DataDirectory,
        };
        start.ArgumentList.Add(Dll);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{_port.ToString(CultureInfo.InvariantCulture)}"); // 0 the first time: the OS picks a free port
        start.ArgumentList.Add("--store");
        start.ArgumentList.Add(_options.Store);
        start.ArgumentList.Add("--data-dir");
        start.ArgumentList.Add(DataDirectory);
        start.ArgumentList.Add("--parent-pid");
        start.ArgumentList.Add(Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        foreach (var (key, value) in _options.Settings)
        {
            start.ArgumentList.Add($"--{key}={value}");
        }
        // The listening address is read from the host's own start-up line.
        start.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        start.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (name, value) in _options.Environment)
        {
            start.Environment[name] = value;
        }

        var listening = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        DataReceivedEventHandler onLine = (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }
            Remember(e.Data);
            if (ListeningLine().Match(e.Data) is { Success: true } match)
            {
                listening.TrySetResult(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));
            }
        };
        process.OutputDataReceived += onLine;
        process.ErrorDataReceived += onLine;
        process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException("The coordinator exited while starting."));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        try
        {
            _port = await listening.Task.WaitAsync(_options.StartTimeout, cancellationToken);
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            Kill();
            process.WaitForExit(); // lets the output readers take the last lines (the reason it stopped)
            throw new InvalidOperationException($"The coordinator ({Dll}) did not start listening: {ex.Message}\nIts output:\n{Output}", ex);
        }
    }

    private async Task WaitUntilServingAsync(CancellationToken cancellationToken)
    {
        var health = new Health.HealthClient(Channel);
        var deadline = DateTime.UtcNow + _options.StartTimeout;
        while (true)
        {
            try
            {
                var reply = await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(5), cancellationToken: cancellationToken);
                if (reply.Status == HealthCheckResponse.Types.ServingStatus.Serving)
                {
                    return;
                }
            }
            catch (RpcException) when (DateTime.UtcNow < deadline && IsRunning)
            {
            }
            if (DateTime.UtcNow >= deadline || !IsRunning)
            {
                throw new InvalidOperationException($"The coordinator on {Address} did not report SERVING.\nIts output:\n{Output}");
            }
            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary>Deletes temporary data directories left by test processes that died before disposing their coordinator.</summary>
    private static void RemoveLeftovers()
    {
        foreach (var dir in Directory.GetDirectories(Path.GetTempPath(), DirectoryPrefix + "*"))
        {
            var name = Path.GetFileName(dir)[DirectoryPrefix.Length..];
            var dash = name.IndexOf('-', StringComparison.Ordinal);
            if (dash <= 0 || !int.TryParse(name.AsSpan(0, dash), CultureInfo.InvariantCulture, out var pid) || IsAlive(pid))
            {
                continue;
            }
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Another test process may be removing the same leftover.
            }
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private void Remember(string line)
    {
        lock (_output)
        {
            _output.Enqueue(line);
            while (_output.Count > OutputLinesKept)
            {
                _output.Dequeue();
            }
        }
    }

    [GeneratedRegex(@"Now listening on: http://127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningLine();

    private const int SigTerm = 15;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);
}

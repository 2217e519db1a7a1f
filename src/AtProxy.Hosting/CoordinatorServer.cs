using System.Globalization;
using System.Text.RegularExpressions;
using AtProxy.Protocol.V1;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace AtProxy.Hosting;

/// <summary>
/// The real, built coordinator running as an OS process on a free 127.0.0.1 port with a data
/// directory of its own. It stops by itself when this process is gone (<c>--parent-pid</c>). It
/// can be killed with SIGKILL (<see cref="Kill"/>) and started again on the same data directory
/// and port (<see cref="RestartAsync"/>); dispose stops it and deletes a temporary data directory.
/// <code>
/// await using var coordinator = await CoordinatorServer.StartAsync();
/// var tm = new TransactionManager.TransactionManagerClient(coordinator.Channel);
/// </code>
/// </summary>
public sealed partial class CoordinatorServer : IAsyncDisposable
{
    private const int OutputLinesKept = 400;
    private const string DirectoryPrefix = "atproxy-tc-";
    private readonly CoordinatorServerOptions _options;
    private readonly bool _ownsDataDirectory;
    private readonly Queue<string> _output = new(); // across restarts, unlike each process's own tail
    private ChildProcess? _process;
    private int _port;
    private GrpcChannel? _channel;
    private Admin.AdminClient? _admin;

    private CoordinatorServer(CoordinatorServerOptions options, string dataDirectory, bool ownsDataDirectory)
    {
        _options = options;
        DataDirectory = dataDirectory;
        _ownsDataDirectory = ownsDataDirectory;
        Dll = options.Executable ?? options.CoordinatorDll ?? CoordinatorBinary.Find();
    }

    /// <summary>The coordinator's address, e.g. http://127.0.0.1:41234 (the same after a restart).</summary>
    public Uri Address => new($"http://127.0.0.1:{_port.ToString(CultureInfo.InvariantCulture)}");

    /// <summary>A channel to the coordinator; it reconnects by itself after a restart.</summary>
    public GrpcChannel Channel => _channel ?? throw new InvalidOperationException("The coordinator has not started.");

    /// <summary>The coordinator's admin API (what the <c>atproxy</c> CLI calls), on <see cref="Channel"/>.</summary>
    public Admin.AdminClient Admin => _admin ??= new Admin.AdminClient(Channel);

    /// <summary>The data directory of the embedded store.</summary>
    public string DataDirectory { get; }

    /// <summary>The DLL being run (or the program, when <see cref="CoordinatorServerOptions.Executable"/> is set).</summary>
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
                return string.Join(System.Environment.NewLine, _output);
            }
        }
    }

    /// <summary>Starts the coordinator and waits until its health service answers SERVING.</summary>
    /// <exception cref="InvalidOperationException">It did not start listening or serving within <see cref="CoordinatorServerOptions.StartTimeout"/>.</exception>
    public static async Task<CoordinatorServer> StartAsync(CoordinatorServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new CoordinatorServerOptions();
        var owns = options.DataDirectory is null;
        RemoveLeftovers();
        var dataDirectory = options.DataDirectory ?? RunDirectory.Create(DirectoryPrefix, 12);
        Directory.CreateDirectory(dataDirectory);
        var coordinator = new CoordinatorServer(options, dataDirectory, owns);
        try
        {
            await coordinator.LaunchAsync(cancellationToken).ConfigureAwait(false);
            coordinator._channel = GrpcChannel.ForAddress(coordinator.Address, new GrpcChannelOptions
            {
                MaxReceiveMessageSize = null,
                MaxSendMessageSize = null,
            });
            await coordinator.WaitUntilServingAsync(cancellationToken).ConfigureAwait(false);
            return coordinator;
        }
        catch
        {
            await coordinator.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Kills the process with SIGKILL (no shutdown of any kind) and waits until it is gone.</summary>
    public void Kill() => _process?.Kill();

    /// <summary>Starts the coordinator again on the same data directory and port (after <see cref="Kill"/> or <see cref="StopAsync"/>).</summary>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        if (IsRunning)
        {
            throw new InvalidOperationException("The coordinator is still running; kill or stop it first.");
        }
        if (_process is not null)
        {
            await _process.DisposeAsync().ConfigureAwait(false);
            _process = null;
        }
        await LaunchAsync(cancellationToken).ConfigureAwait(false);
        await WaitUntilServingAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops the coordinator gracefully (SIGTERM), killing it when it does not exit within <paramref name="grace"/> (default 10 s).</summary>
    public Task StopAsync(TimeSpan? grace = null) =>
        _process?.StopAsync(grace ?? TimeSpan.FromSeconds(10)) ?? Task.CompletedTask;

    /// <summary>Stops the coordinator and deletes its data directory when it was a temporary one.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        if (_process is not null)
        {
            await _process.DisposeAsync().ConfigureAwait(false);
        }
        _channel?.Dispose();
        if (_ownsDataDirectory)
        {
            RunDirectory.Delete(DataDirectory);
        }
    }

    private async Task LaunchAsync(CancellationToken cancellationToken)
    {
        List<string> arguments =
        [
            "--urls", $"http://127.0.0.1:{_port.ToString(CultureInfo.InvariantCulture)}", // 0 the first time: the OS picks a free port
            "--store", _options.Store,
            "--data-dir", DataDirectory,
            "--parent-pid", Environment.ProcessId.ToString(CultureInfo.InvariantCulture),
        ];
        arguments.AddRange(_options.Settings.Select(setting => $"--{setting.Key}={setting.Value}"));
        arguments.AddRange(_options.Arguments);
        if (_options.Executable is null)
        {
            arguments.Insert(0, Dll);
        }
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            // The listening address is read from the host's own start-up line.
            ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
        };
        foreach (var (name, value) in _options.Environment)
        {
            environment[name] = value;
        }

        var listening = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = ChildProcess.Start("coordinator", _options.Executable ?? "dotnet", arguments, new ChildProcessOptions
        {
            Environment = environment,
            WorkingDirectory = DataDirectory,
            OnOutputLine = line =>
            {
                Remember(line);
                // The admin endpoint (Coordinator:AdminUrls) listens too; its port is not the gRPC port.
                if (ListeningLine().Match(line) is { Success: true } match &&
                    int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) is var port && !AdminPorts().Contains(port))
                {
                    listening.TrySetResult(port);
                }
            },
        });
        _process = process;
        _ = process.Exited.ContinueWith(
            _ => listening.TrySetException(new InvalidOperationException("The coordinator exited while starting.")),
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

        try
        {
            _port = await listening.Task.WaitAsync(_options.StartTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            process.Kill(); // also lets the output readers take the last lines (the reason it stopped)
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
                var reply = await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(5), cancellationToken: cancellationToken).ConfigureAwait(false);
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
            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Deletes temporary data directories left by processes that died before disposing their coordinator.</summary>
    private static void RemoveLeftovers()
    {
        foreach (var dir in RunDirectory.Abandoned(DirectoryPrefix))
        {
            try
            {
                RunDirectory.Delete(dir);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Another process may be removing the same leftover.
            }
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

    private HashSet<int> AdminPorts() =>
        _options.Settings.TryGetValue("Coordinator:AdminUrls", out var urls)
            ? [.. urls.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(u => Uri.TryCreate(u.Trim(), UriKind.Absolute, out var url) ? url.Port : -1)]
            : [];

    [GeneratedRegex(@"Now listening on: http://127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningLine();
}

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace AtProxy.Testing.Postgres;

/// <summary>
/// A throw-away PostgreSQL cluster: its own temp directory, a free port on 127.0.0.1,
/// durability switched off for speed, stopped and deleted on dispose.
/// </summary>
internal sealed class EphemeralCluster : IAsyncDisposable
{
    private const string DirectoryPrefix = "atproxy-pg-";
    private readonly string _binDir;
    private readonly string _root;
    private int _stopped;

    private EphemeralCluster(string binDir, string root, int port)
    {
        _binDir = binDir;
        _root = root;
        Port = port;
    }

    public int Port { get; }

    public string RootDirectory => _root;

    private string DataDirectory => Path.Combine(_root, "data");

    private string LogFile => Path.Combine(_root, "postgres.log");

    public static async Task<EphemeralCluster> StartAsync()
    {
        var binDir = await PostgresBinaries.FindAsync()
            ?? throw new InvalidOperationException("No PostgreSQL server binaries (initdb, pg_ctl) were found. " + PostgresBinaries.InstallHint);
        await RemoveLeftoversAsync(binDir);

        Exception? last = null;
        // A port found free can be taken by someone else before the server binds it; try a few.
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var root = Path.Combine(Path.GetTempPath(), $"{DirectoryPrefix}{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..12]}");
            Directory.CreateDirectory(root);
            var cluster = new EphemeralCluster(binDir, root, FindFreePort());
            try
            {
                await cluster.InitializeAsync();
                await cluster.StartServerAsync();
                return cluster;
            }
            catch (Exception ex)
            {
                last = ex;
                await cluster.DisposeAsync();
            }
        }
        throw last!;
    }

    private async Task InitializeAsync()
    {
        await ProcessRunner.GiveToServerUserAsync(_root);
        var init = await ProcessRunner.RunAsync(Path.Combine(_binDir, "initdb"),
            ["-D", DataDirectory, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"],
            asServerUser: true, TimeSpan.FromMinutes(2));
        if (init.ExitCode != 0)
        {
            throw new InvalidOperationException($"initdb failed (exit {init.ExitCode}) in {_root}:\n{init.Output}");
        }

        // Appending keeps the file's owner (the server user) even when written by root.
        var settings = string.Join('\n',
            "listen_addresses = '127.0.0.1'",
            $"port = {Port.ToString(CultureInfo.InvariantCulture)}",
            $"unix_socket_directories = '{_root}'",
            "fsync = off",
            "synchronous_commit = off",
            "full_page_writes = off",
            "max_connections = 300",
            "max_prepared_transactions = 100",
            "shared_buffers = 128MB",
            "log_min_messages = warning",
            "");
        await File.AppendAllTextAsync(Path.Combine(DataDirectory, "postgresql.conf"), "\n" + settings);
    }

    private async Task StartServerAsync()
    {
        var start = await ProcessRunner.RunAsync(Path.Combine(_binDir, "pg_ctl"),
            ["-D", DataDirectory, "-l", LogFile, "-w", "-t", "60", "start"],
            asServerUser: true, TimeSpan.FromSeconds(90));
        if (start.ExitCode != 0)
        {
            var log = File.Exists(LogFile) ? await File.ReadAllTextAsync(LogFile) : "(no server log was written)";
            throw new InvalidOperationException(
                $"PostgreSQL did not start on 127.0.0.1:{Port} (pg_ctl exit {start.ExitCode}).\n" +
                $"pg_ctl said:\n{start.Output}\nThe server log ({LogFile}) says:\n{log}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }
        await StopAndDeleteAsync(_binDir, _root);
    }

    /// <summary>Synchronous stop for process-exit handlers, which cannot await.</summary>
    public void Stop() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private static async Task StopAndDeleteAsync(string binDir, string root)
    {
        var data = Path.Combine(root, "data");
        if (File.Exists(Path.Combine(data, "postmaster.pid")))
        {
            // Immediate: the cluster is thrown away, so there is nothing to flush.
            await ProcessRunner.RunAsync(Path.Combine(binDir, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "-t", "30", "stop"],
                asServerUser: true, TimeSpan.FromSeconds(45));
        }
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    /// <summary>Stops and deletes clusters left by test processes that died without cleaning up.</summary>
    private static async Task RemoveLeftoversAsync(string binDir)
    {
        foreach (var dir in Directory.GetDirectories(Path.GetTempPath(), DirectoryPrefix + "*"))
        {
            var name = Path.GetFileName(dir)[DirectoryPrefix.Length..];
            var dash = name.IndexOf('-');
            if (dash <= 0 || !int.TryParse(name[..dash], out var pid) || IsAlive(pid))
            {
                continue;
            }
            try
            {
                await StopAndDeleteAsync(binDir, dir);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or TimeoutException)
            {
                // Another process may be cleaning the same leftover; it is not ours to fail on.
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

    private static int FindFreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

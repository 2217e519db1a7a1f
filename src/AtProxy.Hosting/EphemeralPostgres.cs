using System.Globalization;
using Npgsql;

namespace AtProxy.Hosting;

/// <summary>
/// A throw-away PostgreSQL cluster in a directory of its own on a free 127.0.0.1 port, with
/// durability switched off for speed; <see cref="DisposeAsync"/> stops it at once and deletes
/// the directory. When this process is root the cluster runs as the <c>postgres</c> user.
/// </summary>
public sealed class EphemeralPostgres : IAsyncDisposable
{
    /// <summary>The superuser every cluster is initialized with.</summary>
    public const string Superuser = "postgres";

    private readonly string _binDir;
    private int _stopped;

    private EphemeralPostgres(string binDir, string root, int port)
    {
        _binDir = binDir;
        RootDirectory = root;
        Port = port;
    }

    /// <summary>The port the server listens on, on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>The cluster's directory (data, server log, socket).</summary>
    public string RootDirectory { get; }

    private string DataDirectory => DataDirectoryOf(RootDirectory);

    private string LogFile => Path.Combine(RootDirectory, "postgres.log");

    /// <summary>Initializes and starts a cluster under <paramref name="root"/> (created when missing) on a free port.</summary>
    /// <param name="root">The cluster's directory; deleted with everything in it when the cluster stops.</param>
    /// <param name="settings">
    /// <c>postgresql.conf</c> settings on top of the fixed ones (address, port, socket directory,
    /// no fsync, 300 connections), e.g. <c>["shared_buffers"] = "64MB"</c>.
    /// </param>
    /// <exception cref="InvalidOperationException">No server programs were found, or the cluster did not start.</exception>
    public static async Task<EphemeralPostgres> StartAsync(string root, IReadOnlyDictionary<string, string>? settings = null)
    {
        var binDir = await PostgresBinaries.FindAsync().ConfigureAwait(false)
            ?? throw new InvalidOperationException("No PostgreSQL server programs (initdb, pg_ctl) were found. " + PostgresBinaries.InstallHint);
        Directory.CreateDirectory(root);
        var cluster = new EphemeralPostgres(binDir, root, FreePort.Find());
        try
        {
            await cluster.InitializeAsync(settings ?? new Dictionary<string, string>()).ConfigureAwait(false);
            await cluster.StartServerAsync().ConfigureAwait(false);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>A superuser connection string for <paramref name="database"/>, to adjust (pool size, timeouts) before use.</summary>
    public NpgsqlConnectionStringBuilder ConnectionString(string database) => new()
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = Superuser,
        Database = database,
    };

    /// <summary>Creates an empty database named <paramref name="name"/>.</summary>
    public Task CreateDatabaseAsync(string name) =>
        AdminSql.ExecuteAsync(ConnectionString("postgres").ConnectionString, $"CREATE DATABASE \"{name}\"");

    /// <summary>Stops the server (immediate: the data is thrown away) and deletes its directory; once.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            await StopAndDeleteAsync(_binDir, RootDirectory).ConfigureAwait(false);
        }
    }

    /// <summary>Synchronous <see cref="DisposeAsync"/> for process-exit handlers, which cannot await.</summary>
    public void Stop() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>
    /// Stops a cluster left in <paramref name="root"/> by a process that was killed before it
    /// could stop it, and deletes the directory.
    /// </summary>
    public static async Task RemoveAbandonedAsync(string root)
    {
        if (await PostgresBinaries.FindAsync().ConfigureAwait(false) is { } binDir)
        {
            await StopAndDeleteAsync(binDir, root).ConfigureAwait(false);
        }
    }

    private static string DataDirectoryOf(string root) => Path.Combine(root, "data");

    private async Task InitializeAsync(IReadOnlyDictionary<string, string> settings)
    {
        await ProcessRunner.GiveToServerUserAsync(RootDirectory).ConfigureAwait(false);
        var init = await ProcessRunner.RunAsync(Path.Combine(_binDir, "initdb"),
            ["-D", DataDirectory, "-U", Superuser, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"],
            asServerUser: true, TimeSpan.FromMinutes(2)).ConfigureAwait(false);
        if (init.ExitCode != 0)
        {
            throw new InvalidOperationException($"initdb failed (exit {init.ExitCode}) in {RootDirectory}:\n{init.Output}");
        }
        var lines = new List<string>
        {
            "listen_addresses = '127.0.0.1'",
            $"port = {Port.ToString(CultureInfo.InvariantCulture)}",
            $"unix_socket_directories = '{RootDirectory}'",
            "fsync = off",
            "synchronous_commit = off",
            "full_page_writes = off",
            "max_connections = 300",
            "log_min_messages = warning",
        };
        lines.AddRange(settings.Select(setting => $"{setting.Key} = {setting.Value}"));
        // Appending keeps the file's owner (the server user) even when written by root.
        await File.AppendAllTextAsync(Path.Combine(DataDirectory, "postgresql.conf"), "\n" + string.Join('\n', lines) + "\n").ConfigureAwait(false);
    }

    private async Task StartServerAsync()
    {
        var start = await ProcessRunner.RunAsync(Path.Combine(_binDir, "pg_ctl"),
            ["-D", DataDirectory, "-l", LogFile, "-w", "-t", "60", "start"],
            asServerUser: true, TimeSpan.FromSeconds(90)).ConfigureAwait(false);
        if (start.ExitCode != 0)
        {
            var log = File.Exists(LogFile) ? await File.ReadAllTextAsync(LogFile).ConfigureAwait(false) : "(no server log was written)";
            throw new InvalidOperationException(
                $"PostgreSQL did not start on 127.0.0.1:{Port} (pg_ctl exit {start.ExitCode}).\n" +
                $"pg_ctl said:\n{start.Output}\nThe server log ({LogFile}) says:\n{log}");
        }
    }

    private static async Task StopAndDeleteAsync(string binDir, string root)
    {
        var data = DataDirectoryOf(root);
        if (File.Exists(Path.Combine(data, "postmaster.pid")))
        {
            // Immediate: the cluster is thrown away, so there is nothing to flush.
            await ProcessRunner.RunAsync(Path.Combine(binDir, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "-t", "30", "stop"],
                asServerUser: true, TimeSpan.FromSeconds(45)).ConfigureAwait(false);
        }
        RunDirectory.Delete(root);
    }
}

using System.Globalization;
using Npgsql;

namespace AtProxy.Demo.Hosting;

/// <summary>
/// A throw-away PostgreSQL cluster in the demo's directory on a free 127.0.0.1 port, with
/// durability switched off for speed; <see cref="DisposeAsync"/> stops it at once.
/// </summary>
internal sealed class EphemeralPostgres : IAsyncDisposable
{
    private readonly string _binDir;
    private readonly string _root;
    private int _stopped;

    private EphemeralPostgres(string binDir, string root, int port)
    {
        _binDir = binDir;
        _root = root;
        Port = port;
    }

    public int Port { get; }

    private string DataDirectory => Path.Combine(_root, "data");

    /// <summary>A superuser connection string for database <paramref name="database"/>.</summary>
    public string ConnectionString(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = "postgres",
        Database = database,
        MaxPoolSize = 60,
    }.ConnectionString;

    /// <summary>Initializes and starts a cluster under <paramref name="root"/> (which must not exist yet).</summary>
    public static async Task<EphemeralPostgres> StartAsync(string root)
    {
        var binDir = await PostgresBinaries.FindAsync()
            ?? throw new DemoSetupException("No PostgreSQL server programs (initdb, pg_ctl) were found. " + PostgresBinaries.InstallHint);
        Directory.CreateDirectory(root);
        var cluster = new EphemeralPostgres(binDir, root, FreePort.Find());
        try
        {
            await cluster.InitializeAsync();
            await cluster.StartServerAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Creates an empty database.</summary>
    public async Task CreateDatabaseAsync(string name)
    {
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync();
    }

    private async Task InitializeAsync()
    {
        await ServerCommand.GiveToServerUserAsync(_root);
        var init = await ServerCommand.RunAsync(Path.Combine(_binDir, "initdb"),
            ["-D", DataDirectory, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"],
            asServerUser: true, TimeSpan.FromMinutes(2));
        if (init.ExitCode != 0)
        {
            throw new DemoSetupException($"initdb failed (exit {init.ExitCode}):\n{init.Output}");
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
            "shared_buffers = 64MB",
            "log_min_messages = warning",
            "");
        await File.AppendAllTextAsync(Path.Combine(DataDirectory, "postgresql.conf"), "\n" + settings);
    }

    private async Task StartServerAsync()
    {
        var log = Path.Combine(_root, "postgres.log");
        var start = await ServerCommand.RunAsync(Path.Combine(_binDir, "pg_ctl"),
            ["-D", DataDirectory, "-l", log, "-w", "-t", "60", "start"], asServerUser: true, TimeSpan.FromSeconds(90));
        if (start.ExitCode != 0)
        {
            var text = File.Exists(log) ? await File.ReadAllTextAsync(log) : "(no server log)";
            throw new DemoSetupException($"PostgreSQL did not start on 127.0.0.1:{Port}:\n{start.Output}\n{text}");
        }
    }

    /// <summary>Stops the server (immediate: the data is thrown away) and deletes its directory.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            await StopAndDeleteAsync(_binDir, _root);
        }
    }

    /// <summary>Stops a cluster left in <paramref name="root"/> by a demo that was killed, and deletes it.</summary>
    public static async Task RemoveAbandonedAsync(string root)
    {
        if (await PostgresBinaries.FindAsync() is { } binDir)
        {
            await StopAndDeleteAsync(binDir, root);
        }
    }

    private static async Task StopAndDeleteAsync(string binDir, string root)
    {
        var data = Path.Combine(root, "data");
        if (File.Exists(Path.Combine(data, "postmaster.pid")))
        {
            await ServerCommand.RunAsync(Path.Combine(binDir, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "-t", "30", "stop"],
                asServerUser: true, TimeSpan.FromSeconds(45));
        }
        DemoDirectory.Delete(root);
    }
}

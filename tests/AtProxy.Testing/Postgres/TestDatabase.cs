using AtProxy.Hosting;

namespace AtProxy.Testing.Postgres;

/// <summary>An empty database of one test's own on a real server; dropped on dispose.</summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private readonly ScratchDatabase _database;

    internal TestDatabase(PostgresServer server, ScratchDatabase database)
    {
        Server = server;
        _database = database;
    }

    /// <summary>The database's unique name.</summary>
    public string Name => _database.Name;

    /// <summary>A superuser connection string to this database.</summary>
    public string ConnectionString => _database.ConnectionString;

    /// <summary>The server the database lives on.</summary>
    public PostgresServer Server { get; }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _database.DisposeAsync();
}

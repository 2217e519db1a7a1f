namespace AtProxy.Testing.Postgres;

/// <summary>An empty database of one test's own on a real server; dropped on dispose.</summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private readonly PostgresServer _server;

    internal TestDatabase(PostgresServer server, string name, string connectionString)
    {
        _server = server;
        Name = name;
        ConnectionString = connectionString;
    }

    /// <summary>The database's unique name.</summary>
    public string Name { get; }

    /// <summary>A superuser connection string to this database.</summary>
    public string ConnectionString { get; }

    /// <summary>The server the database lives on.</summary>
    public PostgresServer Server => _server;

    /// <inheritdoc />
    public ValueTask DisposeAsync() => new(_server.DropDatabaseAsync(Name, ConnectionString));
}

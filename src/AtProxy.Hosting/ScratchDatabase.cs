namespace AtProxy.Hosting;

/// <summary>An empty database of its user's own on a <see cref="PostgresInstance"/>; dropped on dispose.</summary>
public sealed class ScratchDatabase : IAsyncDisposable
{
    internal ScratchDatabase(PostgresInstance server, string name, string connectionString)
    {
        Server = server;
        Name = name;
        ConnectionString = connectionString;
    }

    /// <summary>The database's unique name.</summary>
    public string Name { get; }

    /// <summary>A superuser connection string to this database.</summary>
    public string ConnectionString { get; }

    /// <summary>The server the database lives on.</summary>
    public PostgresInstance Server { get; }

    /// <summary>Drops the database, closing its pooled connections first.</summary>
    public ValueTask DisposeAsync() => new(Server.DropDatabaseAsync(Name, ConnectionString));
}

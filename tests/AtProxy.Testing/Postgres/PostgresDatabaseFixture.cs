using Xunit;

namespace AtProxy.Testing.Postgres;

/// <summary>
/// xunit class fixture: a database of the test class's own on the shared server.
/// Use with <c>IClassFixture&lt;PostgresDatabaseFixture&gt;</c>.
/// </summary>
public class PostgresDatabaseFixture : IAsyncLifetime
{
    private TestDatabase? _database;

    /// <summary>The class's database.</summary>
    public TestDatabase Database => _database ?? throw new InvalidOperationException("The fixture is not initialized yet.");

    /// <summary>A superuser connection string to the class's database.</summary>
    public string ConnectionString => Database.ConnectionString;

    /// <inheritdoc />
    public virtual async Task InitializeAsync()
    {
        var server = await PostgresServer.SharedAsync();
        _database = await server.CreateDatabaseAsync(GetType().Name);
    }

    /// <inheritdoc />
    public virtual async Task DisposeAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}

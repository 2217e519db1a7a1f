using AtProxy.Images;
using AtProxy.Sql.Dialects;
using Npgsql;

namespace AtProxy.Tests.Sql;

/// <summary>The dialect of a test database whose AtProxy functions live in <c>public</c>.</summary>
internal static class TestDialect
{
    public static PostgresDialect Public { get; } = new("public");

    /// <summary>Creates the image functions <see cref="Public"/> calls in the database.</summary>
    public static async Task CreateFunctionsAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await CanonicalText.EnsureFunctionsAsync(connection, "\"public\"", CancellationToken.None);
    }
}

/// <summary>A database of the class's own with AtProxy's image functions in <c>public</c>, for <see cref="TestDialect.Public"/>.</summary>
public class DialectDatabaseFixture : AtProxy.Testing.Postgres.PostgresDatabaseFixture
{
    /// <inheritdoc />
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await TestDialect.CreateFunctionsAsync(ConnectionString);
    }
}

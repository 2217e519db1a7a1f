using AtProxy.Testing.Postgres;
using Npgsql;

namespace AtProxy.Tests.Testing;

/// <summary>
/// Two test classes with the same fixture type run in parallel (separate xunit collections);
/// each creates the same table and would collide if they shared a database.
/// </summary>
public abstract class SeparateDatabaseTestsBase(PostgresDatabaseFixture fixture)
{
    [Fact]
    public async Task Class_has_a_database_of_its_own()
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand("CREATE TABLE shared_name(id int primary key); INSERT INTO shared_name VALUES (1), (2)", connection);
        await create.ExecuteNonQueryAsync();
        await using var count = new NpgsqlCommand("SELECT count(*), current_database() FROM shared_name", connection);
        await using var reader = await count.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(2L, reader.GetInt64(0));
        Assert.Equal(fixture.Database.Name, reader.GetString(1));
    }
}

public class FirstSeparateDatabaseTests(PostgresDatabaseFixture fixture)
    : SeparateDatabaseTestsBase(fixture), IClassFixture<PostgresDatabaseFixture>;

public class SecondSeparateDatabaseTests(PostgresDatabaseFixture fixture)
    : SeparateDatabaseTestsBase(fixture), IClassFixture<PostgresDatabaseFixture>;

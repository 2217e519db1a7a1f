using AtProxy.Phase1;
using AtProxy.Testing.Postgres;
using Npgsql;

namespace AtProxy.Tests.Proxy;

/// <summary>
/// Image queries splice part of the application's text (its WHERE) and bind all of its parameters;
/// the provider must accept parameters the spliced text does not reference.
/// </summary>
public class ParameterCopierTests(PostgresDatabaseFixture fixture) : IClassFixture<PostgresDatabaseFixture>
{
    [Fact]
    public async Task Named_parameters_not_referenced_by_the_image_query_are_ignored()
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var original = new NpgsqlCommand("SELECT @n + 1 WHERE @sku = 'a'", connection);
        original.Parameters.AddWithValue("n", 41);
        original.Parameters.AddWithValue("sku", "a");

        await using var image = connection.CreateCommand();
        image.CommandText = "SELECT count(*) WHERE @sku = 'a'";
        ParameterCopier.CopyAll(original.Parameters, image);

        Assert.Equal(2, image.Parameters.Count);
        Assert.Equal(1L, await image.ExecuteScalarAsync());
        // The originals still belong to the original command and still work there.
        Assert.Equal(42, await original.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Positional_parameters_keep_their_order()
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var original = new NpgsqlCommand("SELECT $1::int + $2::int", connection);
        original.Parameters.Add(new NpgsqlParameter { Value = 1 });
        original.Parameters.Add(new NpgsqlParameter { Value = 10 });

        await using var image = connection.CreateCommand();
        image.CommandText = "SELECT $2::int * 3";
        ParameterCopier.CopyAll(original.Parameters, image);
        Assert.Equal(30, await image.ExecuteScalarAsync());
    }
}

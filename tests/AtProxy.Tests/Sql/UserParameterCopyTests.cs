using AtProxy.Metadata;
using AtProxy.Sql;
using AtProxy.Sql.Dialects;
using AtProxy.Testing.Postgres;
using Npgsql;
using NpgsqlTypes;

namespace AtProxy.Tests.Sql;

/// <summary>
/// The rule the executor follows for image queries that splice the user's text: copy all of the
/// user's parameters, typed as the application typed them. These prove it on a real server for
/// both placeholder styles.
/// </summary>
public class UserParameterCopyTests(DialectDatabaseFixture fixture) : IClassFixture<DialectDatabaseFixture>
{
    private static readonly TableMetadata Kv = new("public", "copy_kv",
        [new ColumnMetadata("k", 1, "text", false, false), new ColumnMetadata("v", 2, "text", true, false)],
        [new ColumnMetadata("k", 1, "text", false, false)]);

    [Fact]
    public async Task Before_image_with_all_named_user_parameters_copied_reads_the_target_row()
    {
        await using var connection = await OpenAsync();
        var statement = SqlRecognizer.RecognizeUncached("UPDATE copy_kv SET v = @v WHERE k = @k").Statements[0];
        var image = TestDialect.Public.BuildBeforeImage(statement, Kv)!;
        Assert.True(image.BindsUserParameters);

        await using var command = new NpgsqlCommand(image.Text, connection);
        command.Parameters.AddWithValue("v", "unused by the image");
        command.Parameters.AddWithValue("k", "b");
        Assert.Equal("(b,2)", await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Before_image_with_all_positional_user_parameters_copied_reads_the_target_row()
    {
        await using var connection = await OpenAsync();
        var statement = SqlRecognizer.RecognizeUncached("UPDATE copy_kv SET v = $1 WHERE k = $2").Statements[0];
        var image = TestDialect.Public.BuildBeforeImage(statement, Kv)!;
        Assert.EndsWith("WHERE k = $2 FOR UPDATE", image.Text, StringComparison.Ordinal);

        await using var command = new NpgsqlCommand(image.Text, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = "unused by the image", NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = "a", NpgsqlDbType = NpgsqlDbType.Text });
        Assert.Equal("(a,1)", await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Image_returning_statement_runs_with_the_users_parameters_and_returns_the_row_last()
    {
        await using var connection = await OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var statement = SqlRecognizer.RecognizeUncached("UPDATE copy_kv SET v = @v WHERE k <> @k RETURNING v").Statements[0];
        var rewritten = TestDialect.Public.BuildImageReturning(statement, Kv);

        await using var command = new NpgsqlCommand(rewritten.Text, connection, transaction);
        command.Parameters.AddWithValue("v", "x");
        command.Parameters.AddWithValue("k", "b");
        await using var reader = await command.ExecuteReaderAsync();
        Assert.Equal(3, reader.FieldCount);
        Assert.Equal(PostgresDialect.ImageColumn, reader.GetName(reader.FieldCount - rewritten.HiddenColumnCount));
        Assert.True(await reader.ReadAsync());
        Assert.Equal(("x", "(a,x)"), (reader.GetString(0), reader.GetString(1)));
        Assert.False(await reader.ReadAsync());
    }

    private async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var setup = new NpgsqlCommand(
            "CREATE TABLE IF NOT EXISTS copy_kv (k text PRIMARY KEY, v text); INSERT INTO copy_kv VALUES ('a', '1'), ('b', '2') ON CONFLICT DO NOTHING",
            connection);
        await setup.ExecuteNonQueryAsync();
        return connection;
    }
}

using AtProxy.Testing.Postgres;
using Npgsql;

namespace AtProxy.Tests.Sql;

/// <summary>A database of the class's own with the corpus schema (<c>Corpus/schema.sql</c>) and its rows.</summary>
public sealed class CorpusDatabaseFixture : DialectDatabaseFixture
{
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(await File.ReadAllTextAsync(Path.Combine(CorpusFile.Directory, "schema.sql")), connection);
        await command.ExecuteNonQueryAsync();
    }
}

using AtProxy.Phase2;
using AtProxy.Protocol.V1;
using AtProxy.Sql.Dialects;
using AtProxy.Tests.Sql;
using AtProxy.Testing.Postgres;
using static AtProxy.Tests.Sql.PostgresDialectTests;
using Npgsql;

namespace AtProxy.Tests.Proxy;

/// <summary>Rollback of one undo record on a real server, built from the record alone.</summary>
public class UndoRecordExecutorTests(DialectDatabaseFixture fixture) : IClassFixture<DialectDatabaseFixture>
{
    private static UndoRecord Record(UndoKind kind)
    {
        var record = new UndoRecord { Schema = "public", Table = "undo_kv", Kind = kind, PrimaryKey = { "k" } };
        record.Columns.Add(new UndoColumn { Name = "k", DataType = "text" });
        record.Columns.Add(new UndoColumn { Name = "v", DataType = "numeric(12,3)" });
        return record;
    }

    [Fact]
    public async Task UndoAsync_update_puts_back_only_rows_the_statement_wrote()
    {
        await using var connection = await OpenAsync("('a', 2.000), ('b', 9.000)");
        await using var transaction = await connection.BeginTransactionAsync();
        var record = Record(UndoKind.Update);
        // The before image saw 'b' too, but the statement did not write it: someone else may own it now.
        record.Before.Add(Row("a", "1.500"));
        record.Before.Add(Row("b", "3.000"));
        record.After.Add(Row("a", "2.000"));

        Assert.Null(await UndoRecordExecutor.UndoAsync(TestDialect.Public, connection, transaction, record, AtProxy.Images.ImageForm.Canonical, CancellationToken.None));
        Assert.Equal(["(a,1.500)", "(b,9.000)"], await RowsAsync(connection, transaction));
    }

    [Fact]
    public async Task UndoAsync_reports_a_dirty_write_and_changes_nothing()
    {
        await using var connection = await OpenAsync("('a', 7.000)");
        await using var transaction = await connection.BeginTransactionAsync();
        var record = Record(UndoKind.Update);
        record.Before.Add(Row("a", "1.500"));
        record.After.Add(Row("a", "2.000"));

        var dirty = await UndoRecordExecutor.UndoAsync(TestDialect.Public, connection, transaction, record, AtProxy.Images.ImageForm.Canonical, CancellationToken.None);
        Assert.StartsWith("dirty write: row public.undo_kv [k] = (a)", dirty, StringComparison.Ordinal);
        Assert.Equal(["(a,7.000)"], await RowsAsync(connection, transaction));
    }

    [Fact]
    public async Task UndoAsync_finds_and_restores_a_row_with_an_array_primary_key()
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var setup = new NpgsqlCommand(
            "CREATE TABLE undo_arr (k int[] PRIMARY KEY, v text); INSERT INTO undo_arr VALUES ('{1,2}', 'new'), ('{3}', 'other')", connection, transaction))
        {
            await setup.ExecuteNonQueryAsync();
        }
        var record = new UndoRecord { Schema = "public", Table = "undo_arr", Kind = UndoKind.Update, PrimaryKey = { "k" } };
        record.Columns.Add(new UndoColumn { Name = "k", DataType = "integer[]" });
        record.Columns.Add(new UndoColumn { Name = "v", DataType = "text" });
        record.Before.Add(Row("{1,2}", "old"));
        record.After.Add(Row("{1,2}", "new"));

        Assert.Null(await UndoRecordExecutor.UndoAsync(TestDialect.Public, connection, transaction, record, AtProxy.Images.ImageForm.Canonical, CancellationToken.None));
        await using var check = new NpgsqlCommand("SELECT string_agg(t::text, ' ' ORDER BY t::text) FROM undo_arr t", connection, transaction);
        Assert.Equal("(\"{1,2}\",old) ({3},other)", await check.ExecuteScalarAsync());
    }

    private async Task<NpgsqlConnection> OpenAsync(string rows)
    {
        var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var setup = new NpgsqlCommand(
            $"DROP TABLE IF EXISTS undo_kv; CREATE TABLE undo_kv (k text PRIMARY KEY, v numeric(12,3)); INSERT INTO undo_kv VALUES {rows}",
            connection);
        await setup.ExecuteNonQueryAsync();
        return connection;
    }

    private static async Task<List<string>> RowsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        await using var command = new NpgsqlCommand("SELECT t::text FROM undo_kv t ORDER BY 1", connection, transaction);
        var rows = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0));
        }
        return rows;
    }
}

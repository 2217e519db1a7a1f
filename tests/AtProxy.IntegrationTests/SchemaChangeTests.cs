using Dapper;
using Npgsql;

namespace AtProxy.IntegrationTests;

/// <summary>
/// A table altered while services run: a rollback compares rows of the shape it imaged, and a write
/// with metadata older than the table fails loudly once instead of imaging the wrong columns.
/// </summary>
public class SchemaChangeTests(OrderInventoryEnvironment env) : IClassFixture<OrderInventoryEnvironment>
{
    [Fact]
    public async Task A_column_added_between_phase_one_and_the_rollback_leaves_the_rollback_exact()
    {
        await ExecuteAsync("DROP TABLE IF EXISTS widened; CREATE TABLE widened (id int PRIMARY KEY, v text); INSERT INTO widened VALUES (1, 'before')");
        await using var gtx = await env.Client.BeginAsync("widened", TimeSpan.FromSeconds(30));
        await using (var connection = await env.Orders.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE widened SET v = 'after' WHERE id = 1");
        }
        await ExecuteAsync("ALTER TABLE widened ADD COLUMN extra int NOT NULL DEFAULT 7");

        await gtx.RollbackAsync();

        Assert.Equal(GlobalTransactionStatus.Rollbacked, gtx.Status);
        Assert.Equal("(1,before,7)", await QueryAsync("SELECT t::text FROM widened t"));
    }

    [Fact]
    public async Task The_first_write_after_a_column_was_added_fails_and_cannot_commit_then_the_table_is_read_anew()
    {
        await ExecuteAsync("DROP TABLE IF EXISTS altered; CREATE TABLE altered (id int PRIMARY KEY, v text); INSERT INTO altered VALUES (1, 'a')");
        await using (var gtx = await env.Client.BeginAsync("altered-1", TimeSpan.FromSeconds(30)))
        {
            await using var connection = await env.Orders.OpenConnectionAsync();
            await connection.ExecuteAsync("UPDATE altered SET v = 'b' WHERE id = 1");
            await gtx.CommitAsync();
        }
        await ExecuteAsync("ALTER TABLE altered ADD COLUMN extra int NOT NULL DEFAULT 0");

        await using (var gtx = await env.Client.BeginAsync("altered-2", TimeSpan.FromSeconds(30)))
        {
            await using var connection = await env.Orders.OpenConnectionAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await Assert.ThrowsAnyAsync<AtProxyException>(() => connection.ExecuteAsync("UPDATE altered SET v = 'c', extra = 5 WHERE id = 1", transaction: transaction));
            var refused = await Assert.ThrowsAnyAsync<AtProxyException>(() => transaction.CommitAsync());
            Assert.Contains("cannot commit", refused.Message, StringComparison.Ordinal);
        }
        Assert.Equal("(1,b,0)", await QueryAsync("SELECT t::text FROM altered t"));

        // The metadata was read anew: the new column is imaged and put back too.
        await using (var gtx = await env.Client.BeginAsync("altered-3", TimeSpan.FromSeconds(30)))
        {
            await using var connection = await env.Orders.OpenConnectionAsync();
            await connection.ExecuteAsync("UPDATE altered SET v = 'c', extra = 5 WHERE id = 1");
            Assert.Equal("(1,c,5)", await QueryAsync("SELECT t::text FROM altered t"));
            await gtx.RollbackAsync();
            Assert.Equal(GlobalTransactionStatus.Rollbacked, gtx.Status);
        }
        Assert.Equal("(1,b,0)", await QueryAsync("SELECT t::text FROM altered t"));
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(env.OrdersConnectionString);
        await connection.ExecuteAsync(sql);
    }

    private async Task<string?> QueryAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(env.OrdersConnectionString);
        return await connection.ExecuteScalarAsync<string>(sql);
    }
}

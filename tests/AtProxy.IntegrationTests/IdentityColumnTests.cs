using Dapper;
using Npgsql;

namespace AtProxy.IntegrationTests;

/// <summary>An identity column GENERATED ALWAYS outside the key can only be set to DEFAULT: a restore leaves it be.</summary>
public class IdentityColumnTests(OrderInventoryEnvironment env) : IClassFixture<OrderInventoryEnvironment>
{
    [Fact]
    public async Task Rollback_of_an_update_on_a_table_with_a_generated_always_identity_outside_its_key_restores_the_row()
    {
        await using (var setup = new NpgsqlConnection(env.OrdersConnectionString))
        {
            await setup.ExecuteAsync("""
                DROP TABLE IF EXISTS numbered;
                CREATE TABLE numbered (code text PRIMARY KEY, n int GENERATED ALWAYS AS IDENTITY, v text);
                INSERT INTO numbered (code, v) VALUES ('a', 'before'), ('b', 'kept');
                """);
        }
        await using (var gtx = await env.Client.BeginAsync("identity-always", TimeSpan.FromSeconds(30)))
        {
            await using var connection = await env.Orders.OpenConnectionAsync();
            await connection.ExecuteAsync("UPDATE numbered SET v = 'after' WHERE code = 'a'");
            await connection.ExecuteAsync("DELETE FROM numbered WHERE code = 'b'");
            await gtx.RollbackAsync();
            Assert.Equal(GlobalTransactionStatus.Rollbacked, gtx.Status);
        }
        await using var check = new NpgsqlConnection(env.OrdersConnectionString);
        Assert.Equal(["(a,1,before)", "(b,2,kept)"], (await check.QueryAsync<string>("SELECT t::text FROM numbered t ORDER BY code")).ToArray());
    }
}

using System.Runtime.CompilerServices;
using Dapper;
using Npgsql;

namespace AtProxy.IntegrationTests;

public class CommitAndRollbackTests(OrderInventoryEnvironment env) : IClassFixture<OrderInventoryEnvironment>
{
    private static string Sku([CallerMemberName] string test = "") => "sku-" + test;

    [Fact]
    public async Task Commit_across_two_databases_keeps_both_writes_and_leaves_nothing_behind()
    {
        var sku = Sku();
        await env.SeedStockAsync([sku], 10);

        await using (var gtx = await env.Client.BeginAsync("place-order", TimeSpan.FromSeconds(30)))
        {
            await using (var orders = await env.Orders.OpenConnectionAsync())
            {
                await orders.ExecuteAsync("INSERT INTO orders (sku, qty) VALUES (@sku, 3)", new { sku });
            }
            await using (var inventory = await env.Inventory.OpenConnectionAsync())
            {
                var changed = await inventory.ExecuteAsync("UPDATE stock SET count = count - 3, sold = sold + 3 WHERE sku = @sku", new { sku });
                Assert.Equal(1, changed);
            }
            Assert.NotEmpty(await env.LocksAsync(gtx.Xid));
            await gtx.CommitAsync();
            Assert.True(gtx.Status.IsCommitDecided());
        }

        await env.WaitForQuiescenceAsync(TimeSpan.FromSeconds(10));
        await using var plainOrders = new NpgsqlConnection(env.OrdersConnectionString);
        await using var plainInventory = new NpgsqlConnection(env.InventoryConnectionString);
        Assert.Equal(1, await plainOrders.ExecuteScalarAsync<int>("SELECT count(*) FROM orders WHERE sku = @sku", new { sku }));
        Assert.Equal((7, 3), await plainInventory.QuerySingleAsync<(int, int)>("SELECT count, sold FROM stock WHERE sku = @sku", new { sku }));
        Assert.Empty(await env.LocksAsync());
        Assert.Equal(0, await OrderInventoryEnvironment.UndoRowCountAsync(env.OrdersConnectionString));
        Assert.Equal(0, await OrderInventoryEnvironment.UndoRowCountAsync(env.InventoryConnectionString));
    }

    [Fact]
    public async Task Rollback_restores_both_databases_row_for_row_for_every_statement_kind()
    {
        var sku = Sku();
        await env.SeedStockAsync([sku, sku + "-b"], 50);
        await using (var seed = new NpgsqlConnection(env.OrdersConnectionString))
        {
            await seed.ExecuteAsync("""
                INSERT INTO orders (sku, qty, note) VALUES (@sku, 1, 'keep'), (@sku, 2, 'to update'), (@sku, 3, 'to delete');
                INSERT INTO order_line (order_id, line_no, note) VALUES (1, 1, 'a'), (1, 2, 'b');
                """, new { sku });
        }
        var ordersBefore = await OrderInventoryEnvironment.SnapshotAsync(env.OrdersConnectionString, "orders", "id");
        var linesBefore = await OrderInventoryEnvironment.SnapshotAsync(env.OrdersConnectionString, "order_line", "order_id, line_no");
        var stockBefore = await OrderInventoryEnvironment.SnapshotAsync(env.InventoryConnectionString, "stock", "sku");

        await using (var gtx = await env.Client.BeginAsync("mixed", TimeSpan.FromSeconds(30)))
        {
            await using var orders = await env.Orders.OpenConnectionAsync();
            // Server-generated key, captured through RETURNING the application did not ask for.
            await orders.ExecuteAsync("INSERT INTO orders (sku, qty) VALUES (@sku, 9)", new { sku });
            // The application's own RETURNING still returns exactly what it asked for.
            var newId = await orders.ExecuteScalarAsync<long>("INSERT INTO orders (sku, qty) VALUES (@sku, 10) RETURNING id", new { sku });
            Assert.True(newId > 0);
            await orders.ExecuteAsync("UPDATE orders SET qty = qty * 10, note = 'changed' WHERE sku = @sku AND note = 'to update'", new { sku });
            await orders.ExecuteAsync("DELETE FROM orders WHERE sku = @sku AND note = 'to delete'", new { sku });
            // A multi-statement batch, composite keys, in an explicit local transaction.
            await using (var tx = await orders.BeginTransactionAsync())
            {
                await orders.ExecuteAsync("UPDATE order_line SET note = 'x' WHERE order_id = 1; INSERT INTO order_line VALUES (1, 3, 'c'); DELETE FROM order_line WHERE order_id = 1 AND line_no = 2", transaction: tx);
                await tx.CommitAsync();
            }
            await using var inventory = await env.Inventory.OpenConnectionAsync();
            await inventory.ExecuteAsync("UPDATE stock SET count = count - 1 WHERE sku = @sku", new { sku });
            // An upsert that updates one row and inserts another.
            await inventory.ExecuteAsync("INSERT INTO stock (sku, count) VALUES (@a, 1), (@b, 2) ON CONFLICT (sku) DO UPDATE SET count = stock.count + EXCLUDED.count",
                new { a = sku + "-b", b = sku + "-new" });
            await gtx.RollbackAsync();
            Assert.True(gtx.Status.IsRollbackDecided(), $"status {gtx.Status}");
        }

        await env.WaitForQuiescenceAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(ordersBefore, await OrderInventoryEnvironment.SnapshotAsync(env.OrdersConnectionString, "orders", "id"));
        Assert.Equal(linesBefore, await OrderInventoryEnvironment.SnapshotAsync(env.OrdersConnectionString, "order_line", "order_id, line_no"));
        Assert.Equal(stockBefore, await OrderInventoryEnvironment.SnapshotAsync(env.InventoryConnectionString, "stock", "sku"));
        Assert.Empty(await env.LocksAsync());
        Assert.Equal(0, await OrderInventoryEnvironment.UndoRowCountAsync(env.OrdersConnectionString));
        Assert.Equal(0, await OrderInventoryEnvironment.UndoRowCountAsync(env.InventoryConnectionString));
    }

    [Fact]
    public async Task Rollback_restores_every_column_type_exactly()
    {
        const string insertTyped = """
            INSERT INTO typed (i2, i4, i8, num, txt, vc, flag, u, ts, tstz, d, b, j, arr, tarr, f8)
            VALUES (@i2, @i4, @i8, @num, @txt, @vc, @flag, @u, @ts, @tstz, @d, @b, @j::jsonb, @arr, @tarr, @f8)
            """;
        var values = new
        {
            i2 = (short)-7, i4 = 123456, i8 = long.MaxValue - 1, num = 12345.678m, txt = "quote ' and \\ and ,", vc = "varchar",
            flag = true, u = Guid.NewGuid(), ts = new DateTime(2024, 2, 29, 13, 14, 15, 123, DateTimeKind.Unspecified),
            tstz = new DateTime(2025, 1, 2, 3, 4, 5, 678, DateTimeKind.Utc), d = new DateOnly(2020, 12, 31), b = new byte[] { 0, 1, 2, 255 },
            j = """{"a": [1, 2, {"b": null}], "c": "ü"}""", arr = new[] { 1, 2, 3 }, tarr = new[] { "x", "y,z", "" }, f8 = 0.1 + 0.2,
        };
        await using (var seed = new NpgsqlConnection(env.OrdersConnectionString))
        {
            await seed.ExecuteAsync(insertTyped, values);
            await seed.ExecuteAsync("INSERT INTO typed (i4) VALUES (NULL)");
        }
        var before = await OrderInventoryEnvironment.SnapshotAsync(env.OrdersConnectionString, "typed", "id");

        await using (var gtx = await env.Client.BeginAsync("types", TimeSpan.FromSeconds(30)))
        {
            await using var orders = await env.Orders.OpenConnectionAsync();
            // Plain ADO.NET here: Dapper expands array parameters into lists on any connection it does
            // not recognize as Npgsql's by type name, wrapped ones included.
            await using (var insert = orders.CreateCommand())
            {
                insert.CommandText = insertTyped;
                foreach (var property in values.GetType().GetProperties())
                {
                    insert.Parameters.Add(new NpgsqlParameter(property.Name, property.GetValue(values)));
                }
                Assert.Equal(1, await insert.ExecuteNonQueryAsync());
            }
            await orders.ExecuteAsync("""
                UPDATE typed SET i2 = 1, i4 = 2, i8 = 3, num = 0.001, txt = NULL, vc = 'v', flag = NOT flag, u = gen_random_uuid(),
                    ts = now(), tstz = now(), d = current_date, b = '\x00', j = '[]', arr = '{}', tarr = NULL, f8 = 1e300
                """);
            await orders.ExecuteAsync("DELETE FROM typed WHERE i4 IS NULL");
            await gtx.RollbackAsync();
        }

        await env.WaitForQuiescenceAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(before, await OrderInventoryEnvironment.SnapshotAsync(env.OrdersConnectionString, "typed", "id"));
    }

    [Fact]
    public async Task Rollback_removes_rows_with_server_generated_uuid_keys()
    {
        var before = await OrderInventoryEnvironment.SnapshotAsync(env.OrdersConnectionString, "uuid_keyed", "id");
        await using (var gtx = await env.Client.BeginAsync("uuid", TimeSpan.FromSeconds(30)))
        {
            await using var orders = await env.Orders.OpenConnectionAsync();
            var ids = (await orders.QueryAsync<Guid>("INSERT INTO uuid_keyed (note) VALUES ('a'), ('b') RETURNING id")).ToList();
            Assert.Equal(2, ids.Distinct().Count());
        }
        await env.WaitForQuiescenceAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(before, await OrderInventoryEnvironment.SnapshotAsync(env.OrdersConnectionString, "uuid_keyed", "id"));
    }

    [Fact]
    public async Task Unsupported_sql_fails_before_it_runs_and_changes_nothing()
    {
        var before = await OrderInventoryEnvironment.SnapshotAsync(env.OrdersConnectionString, "orders", "id");
        await using var gtx = await env.Client.BeginAsync("bad", TimeSpan.FromSeconds(30));
        await using var orders = await env.Orders.OpenConnectionAsync();

        var noKey = await Assert.ThrowsAsync<AtProxyNotSupportedException>(() => orders.ExecuteAsync("INSERT INTO no_key VALUES (1, 'x')"));
        Assert.Contains("without a primary key", noKey.Message);
        var view = await Assert.ThrowsAsync<AtProxyNotSupportedException>(() => orders.ExecuteAsync("UPDATE order_view SET sku = 'x'"));
        Assert.Contains("view", view.Message);
        var key = await Assert.ThrowsAsync<AtProxyNotSupportedException>(() => orders.ExecuteAsync("UPDATE orders SET id = id + 1000"));
        Assert.Contains("primary-key", key.Message);
        var merge = await Assert.ThrowsAsync<AtProxyNotSupportedException>(() => orders.ExecuteAsync("INSERT INTO orders (sku, qty) SELECT sku, qty FROM orders"));
        Assert.Contains("INSERT ... SELECT", merge.Message);

        await gtx.RollbackAsync();
        Assert.Equal(before, await OrderInventoryEnvironment.SnapshotAsync(env.OrdersConnectionString, "orders", "id"));
    }

    [Fact]
    public async Task Outside_a_global_transaction_the_connection_is_plain_ado_net()
    {
        var sku = Sku();
        await using var orders = await env.Orders.OpenConnectionAsync();
        // Dapper and plain commands, sync and async, with a local transaction and a batch.
        await orders.ExecuteAsync("INSERT INTO orders (sku, qty) VALUES (@sku, 1)", new { sku });
        using (var tx = orders.BeginTransaction())
        {
            using var command = orders.CreateCommand();
            command.Transaction = tx;
            command.CommandText = "INSERT INTO orders (sku, qty) VALUES (@sku, 2)";
            var parameter = command.CreateParameter();
            parameter.ParameterName = "sku";
            parameter.Value = sku;
            command.Parameters.Add(parameter);
            Assert.Equal(1, command.ExecuteNonQuery());
            tx.Commit();
        }
        await using (var batch = orders.CreateBatch())
        {
            var first = batch.CreateBatchCommand();
            first.CommandText = "UPDATE orders SET qty = qty + 1 WHERE sku = $1";
            var p = new NpgsqlParameter { Value = sku };
            first.Parameters.Add(p);
            batch.BatchCommands.Add(first);
            Assert.Equal(2, await batch.ExecuteNonQueryAsync());
        }
        var quantities = (await orders.QueryAsync<int>("SELECT qty FROM orders WHERE sku = @sku ORDER BY id", new { sku })).ToList();
        Assert.Equal([2, 3], quantities);
        Assert.Equal(0, await OrderInventoryEnvironment.UndoRowCountAsync(env.OrdersConnectionString));
    }

    [Fact]
    public async Task A_statement_that_writes_rows_its_before_image_did_not_see_is_refused_and_undone()
    {
        await using (var seed = new NpgsqlConnection(env.OrdersConnectionString))
        {
            await seed.ExecuteAsync("CREATE SEQUENCE IF NOT EXISTS volatile_pick; INSERT INTO order_line (order_id, line_no, note) SELECT 900, g, 'v' FROM generate_series(1, 5) g");
        }
        var before = await OrderInventoryEnvironment.SnapshotAsync(env.OrdersConnectionString, "order_line", "order_id, line_no");
        await using var gtx = await env.Client.BeginAsync("volatile", TimeSpan.FromSeconds(30));
        await using var orders = await env.Orders.OpenConnectionAsync();
        // The scalar subquery runs once per statement: the before image and the UPDATE pick different rows.
        var refused = await Assert.ThrowsAsync<AtProxyException>(() =>
            orders.ExecuteAsync("UPDATE order_line SET note = 'picked' WHERE order_id = 900 AND line_no = (SELECT nextval('volatile_pick') % 5 + 1)"));
        Assert.Contains("before image did not see", refused.Message);
        await gtx.RollbackAsync();
        Assert.Equal(before, await OrderInventoryEnvironment.SnapshotAsync(env.OrdersConnectionString, "order_line", "order_id, line_no"));
    }
}

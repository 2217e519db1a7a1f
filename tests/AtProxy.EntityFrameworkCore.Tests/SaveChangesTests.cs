using System.Collections.Concurrent;
using Dapper;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace AtProxy.EntityFrameworkCore.Tests;

public class SaveChangesTests(ShopEnvironment env) : IClassFixture<ShopEnvironment>
{
    private static Order NewOrder(string sku) => new()
    {
        Customer = "ada", Sku = sku, ShipTo = new Address { Street = "1 Main St", City = "Springfield" },
        Lines = [new OrderLine { Sku = sku, Quantity = 1 }, new OrderLine { Sku = sku, Quantity = 2 }],
    };

    [Fact]
    public async Task Commit_keeps_exactly_what_plain_ef_core_would()
    {
        const string sku = "ef-commit";
        await env.SeedProductsAsync([sku], 10);
        int orderId;
        await using (var gtx = await env.Client.BeginAsync("ef-place-order", TimeSpan.FromSeconds(30)))
        {
            await using (var orders = env.OrdersContext())
            {
                var order = NewOrder(sku);
                orders.Orders.Add(order);
                await orders.SaveChangesAsync();
                orderId = order.Id;
                Assert.True(orderId > 0);
                Assert.All(order.Lines, line => Assert.True(line.Id > 0));
            }
            await using (var inventory = env.InventoryContext())
            {
                var product = await inventory.Products.SingleAsync(p => p.Sku == sku);
                var version = product.Version;
                product.Stock -= 3;
                await inventory.SaveChangesAsync();
                Assert.NotEqual(version, product.Version);
            }
            await gtx.CommitAsync();
        }

        await env.WaitForQuiescenceAsync();
        await using (var orders = env.OrdersContext())
        {
            var stored = await orders.Orders.Include(o => o.Lines).SingleAsync(o => o.Id == orderId);
            Assert.Equal("Springfield", stored.ShipTo.City);
            Assert.Equal([1, 2], stored.Lines.OrderBy(l => l.Quantity).Select(l => l.Quantity));
        }
        await using (var inventory = env.InventoryContext())
        {
            Assert.Equal(7, (await inventory.Products.SingleAsync(p => p.Sku == sku)).Stock);
        }
        Assert.Equal(0, await ShopEnvironment.UndoRowCountAsync(env.OrdersConnectionString));
        Assert.Equal(0, await ShopEnvironment.UndoRowCountAsync(env.InventoryConnectionString));
    }

    [Fact]
    public async Task Rollback_restores_every_table_including_rows_with_generated_keys()
    {
        const string sku = "ef-rollback";
        await env.SeedProductsAsync([sku, sku + "-2"], 50);
        await using (var seed = env.OrdersContext())
        {
            seed.Orders.Add(NewOrder(sku));
            seed.Tickets.Add(new Ticket { Note = "existing" });
            await seed.SaveChangesAsync();
        }
        var before = await SnapshotAllAsync();

        await using (var gtx = await env.Client.BeginAsync("ef-mixed", TimeSpan.FromSeconds(30)))
        {
            await using (var orders = env.OrdersContext())
            {
                orders.Orders.Add(NewOrder(sku));
                orders.Tickets.Add(new Ticket { Note = "new" });
                var existing = await orders.Orders.Include(o => o.Lines).FirstAsync(o => o.Sku == sku);
                existing.ShipTo.City = "Shelbyville";
                orders.Lines.Remove(existing.Lines[0]);
                await orders.SaveChangesAsync();

                // An explicit EF transaction with two SaveChanges and raw SQL.
                await using (var tx = await orders.Database.BeginTransactionAsync())
                {
                    orders.Tickets.Add(new Ticket { Note = "in explicit transaction" });
                    await orders.SaveChangesAsync();
                    await orders.Database.ExecuteSqlRawAsync("UPDATE \"Tickets\" SET \"Note\" = 'raw' WHERE \"Note\" = 'existing'");
                    await tx.CommitAsync();
                }
                await orders.Tickets.Where(t => t.Note == "new").ExecuteDeleteAsync();
            }
            await using (var inventory = env.InventoryContext())
            {
                await inventory.Products.Where(p => p.Sku.StartsWith("ef-rollback")).ExecuteUpdateAsync(s => s.SetProperty(p => p.Stock, p => p.Stock - 5));
                var product = await inventory.Products.SingleAsync(p => p.Sku == sku);
                product.Stock = 1;
                await inventory.SaveChangesAsync();
            }
            await gtx.RollbackAsync();
        }

        await env.WaitForQuiescenceAsync();
        Assert.Equal(before, await SnapshotAllAsync());
    }

    [Fact]
    public async Task A_concurrency_conflict_raises_efs_own_exception_and_changes_nothing()
    {
        const string sku = "ef-conflict";
        await env.SeedProductsAsync([sku], 10);
        await using var gtx = await env.Client.BeginAsync("ef-conflict", TimeSpan.FromSeconds(30));
        await using var inventory = env.InventoryContext();
        var product = await inventory.Products.SingleAsync(p => p.Sku == sku);
        await using (var outsider = new NpgsqlConnection(env.InventoryConnectionString))
        {
            await outsider.ExecuteAsync("UPDATE \"Products\" SET \"Stock\" = 99 WHERE \"Sku\" = @sku", new { sku });
        }
        product.Stock = 0;
        await Assert.ThrowsAsync<DbUpdateConcurrencyException>(() => inventory.SaveChangesAsync());
        await gtx.RollbackAsync();
        await using var check = new NpgsqlConnection(env.InventoryConnectionString);
        Assert.Equal(99, await check.ExecuteScalarAsync<int>("SELECT \"Stock\" FROM \"Products\" WHERE \"Sku\" = @sku", new { sku }));
    }

    [Fact]
    public async Task Concurrent_ef_transactions_keep_orders_and_stock_consistent()
    {
        string[] skus = ["ef-hot-1", "ef-hot-2", "ef-hot-3"];
        const int initial = 100_000;
        const int transactions = 1000;
        await env.SeedProductsAsync(skus, initial);
        var outcomes = new ConcurrentDictionary<string, int>();
        var next = -1;

        async Task Worker(int seed)
        {
            var random = new Random(seed);
            while (Interlocked.Increment(ref next) < transactions)
            {
                var sku = skus[random.Next(skus.Length)];
                var fail = random.NextDouble() < 0.25;
                string outcome;
                try
                {
                    await using var gtx = await env.Client.BeginAsync("ef-order", TimeSpan.FromSeconds(30));
                    await using (var orders = env.OrdersContext())
                    {
                        orders.Orders.Add(new Order { Customer = "c", Sku = sku, ShipTo = new Address { City = "x" } });
                        await orders.SaveChangesAsync();
                    }
                    await using (var inventory = env.InventoryContext())
                    {
                        var changed = await inventory.Products.Where(p => p.Sku == sku).ExecuteUpdateAsync(s => s.SetProperty(p => p.Stock, p => p.Stock - 1));
                        Assert.Equal(1, changed);
                    }
                    if (fail)
                    {
                        throw new InvalidOperationException("declined");
                    }
                    await gtx.CommitAsync();
                    outcome = "committed";
                }
                catch (InvalidOperationException ex) when (ex.Message == "declined")
                {
                    outcome = "rolled back";
                }
                catch (GlobalLockConflictException)
                {
                    outcome = "lock conflict";
                }
                outcomes.AddOrUpdate(outcome, 1, (_, n) => n + 1);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(() => Worker(w))));
        await env.WaitForQuiescenceAsync();

        Assert.Equal(transactions, outcomes.Values.Sum());
        Assert.True(outcomes.GetValueOrDefault("rolled back") > 0);
        await using var orders = new NpgsqlConnection(env.OrdersConnectionString);
        await using var inventory = new NpgsqlConnection(env.InventoryConnectionString);
        foreach (var sku in skus)
        {
            var ordered = await orders.ExecuteScalarAsync<long>("SELECT count(*) FROM \"Orders\" WHERE \"Sku\" = @sku", new { sku });
            var stock = await inventory.ExecuteScalarAsync<int>("SELECT \"Stock\" FROM \"Products\" WHERE \"Sku\" = @sku", new { sku });
            Assert.Equal(initial, stock + ordered);
        }
        Assert.Equal(outcomes.GetValueOrDefault("committed"),
            await orders.ExecuteScalarAsync<long>("SELECT count(*) FROM \"Orders\" WHERE \"Sku\" LIKE 'ef-hot-%'"));
        Assert.Equal(0, await ShopEnvironment.UndoRowCountAsync(env.OrdersConnectionString));
        Assert.Equal(0, await ShopEnvironment.UndoRowCountAsync(env.InventoryConnectionString));
    }

    private async Task<List<string>> SnapshotAllAsync() =>
    [
        .. await ShopEnvironment.SnapshotAsync(env.OrdersConnectionString, "Orders", "\"Id\""),
        .. await ShopEnvironment.SnapshotAsync(env.OrdersConnectionString, "Lines", "\"Id\""),
        .. await ShopEnvironment.SnapshotAsync(env.OrdersConnectionString, "Tickets", "\"Id\""),
        .. await ShopEnvironment.SnapshotAsync(env.InventoryConnectionString, "Products", "\"Sku\""),
    ];
}

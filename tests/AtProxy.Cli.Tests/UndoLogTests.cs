using AtProxy.Cli.Tests.Support;
using Dapper;
using Npgsql;

namespace AtProxy.Cli.Tests;

/// <summary>Undo rows as the proxy writes them in every form: compressed, and with inserted rows.</summary>
[Collection(CliCollection.Name)]
public class UndoLogTests(CliEnvironment env)
{
    [Fact]
    public async Task Undo_show_reads_gzip_compressed_logs_and_shows_inserted_and_updated_rows()
    {
        // A second application whose proxy compresses every undo log.
        await using var client = AtProxyClient.Create(new AtProxyOptions
        {
            Coordinator = env.Coordinator.Address, ApplicationId = "cli-tests-gzip", UndoCompressionThreshold = 0,
        });
        await using var source = NpgsqlDataSource.Create(env.InventoryConnectionString);
        var inventory = client.Wrap(source, "inventory-gzip-db");
        await env.SeedStockAsync("gzip-updated", 50);
        await using (var cleanup = new NpgsqlConnection(env.InventoryConnectionString))
        {
            await cleanup.ExecuteAsync("DELETE FROM stock WHERE sku = 'gzip-inserted'");
        }

        await using var gtx = await client.BeginAsync("gzip", TimeSpan.FromSeconds(60));
        await using (var connection = await inventory.OpenConnectionAsync())
        await using (var local = await connection.BeginTransactionAsync())
        {
            await connection.ExecuteAsync("INSERT INTO stock (sku, count) VALUES ('gzip-inserted', 5)", transaction: local);
            await connection.ExecuteAsync("UPDATE stock SET count = 49 WHERE sku = 'gzip-updated'", transaction: local);
            await local.CommitAsync();
        }

        var listed = (await env.Cli.RunAsync("undo", "list", "--db", env.InventoryConnectionString, "--xid", gtx.Xid, "--json")).Json();
        var row = Assert.Single(listed.EnumerateArray());
        Assert.Contains("compressor=gzip", row.GetProperty("context").GetString());
        Assert.Equal(2, row.GetProperty("records").GetInt32());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, row.GetProperty("error").ValueKind);

        var shown = await env.Cli.RunAsync("undo", "show", "--db", env.InventoryConnectionString, gtx.Xid);
        Assert.True(shown.ExitCode == 0, shown.ToString());
        Assert.Contains("#1 INSERT public.stock: 1 row(s)", shown.StandardOutput);
        Assert.Contains("sku=gzip-inserted (inserted: rollback deletes it) · now matches after: rollback can delete it", shown.StandardOutput);
        Assert.Contains("#2 UPDATE public.stock: 1 row(s)", shown.StandardOutput);
        Assert.Matches(@"│\s*count\s*│\s*integer\s*│\s*-\s*│\s*5\s*│\s*5\s*│\s*│\s*│", shown.RowsOf("count")[0]);
        Assert.Matches(@"│\s*count\s*│\s*integer\s*│\s*50\s*│\s*49\s*│\s*49\s*│\s*\*\s*│\s*│", shown.RowsOf("count")[1]);

        await env.WaitForResourceManagerAsync("cli-tests-gzip", "inventory-gzip-db");
        await gtx.RollbackAsync();
        Assert.Equal(50, await env.StockCountAsync("gzip-updated"));
    }
}

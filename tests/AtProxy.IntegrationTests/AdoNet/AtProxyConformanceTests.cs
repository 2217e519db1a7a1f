using System.Data;
using System.Data.Common;
using Npgsql;

namespace AtProxy.IntegrationTests.AdoNet;

/// <summary>
/// <see cref="AdoNetConformanceTests"/> on AtProxy's wrappers, outside a global transaction, plus what
/// is the wrappers' own: the factory belongs to its data source.
/// </summary>
public sealed class AtProxyConformanceTests(OrderInventoryEnvironment env) : AdoNetConformanceTests, IClassFixture<OrderInventoryEnvironment>
{
    protected override DbConnection CreateConnection() => env.Inventory.CreateConnection();

    [Fact]
    public void The_factory_of_a_data_sources_connection_is_the_data_sources_and_makes_its_connections()
    {
        using var connection = env.Inventory.CreateConnection();
        var factory = Assert.IsType<AtDbProviderFactory>(DbProviderFactories.GetFactory(connection));
        Assert.Same(env.Inventory.ProviderFactory, factory);
        Assert.Same(NpgsqlFactory.Instance, factory.WrappedFactory);
        Assert.Equal(env.InventoryResourceId, factory.ResourceId);
        using var created = Assert.IsType<AtDbConnection>(factory.CreateConnection());
        Assert.Equal(env.InventoryResourceId, created.ResourceId);
        Assert.Equal(env.Inventory.ConnectionString, created.ConnectionString);
        Assert.IsType<AtDbCommand>(factory.CreateCommand());
        Assert.IsType<AtDbBatch>(factory.CreateBatch());
    }

    [Fact]
    public void The_factory_of_a_hand_built_connection_makes_copies_of_it_under_the_same_resource_id()
    {
        using var handBuilt = new AtDbConnection(new NpgsqlConnection(env.InventoryConnectionString), env.Client, env.InventoryResourceId);
        var factory = Assert.IsType<AtDbProviderFactory>(DbProviderFactories.GetFactory(handBuilt));
        using var copy = Assert.IsType<AtDbConnection>(factory.CreateConnection());
        Assert.NotSame(handBuilt.WrappedConnection, copy.WrappedConnection);
        Assert.Equal(env.InventoryResourceId, copy.ResourceId);
        copy.Open();
        using var command = copy.CreateCommand();
        command.CommandText = "SELECT current_database()";
        Assert.Equal(handBuilt.Database, command.ExecuteScalar());
    }

    [Fact]
    public async Task A_connection_cannot_be_pointed_at_another_database_than_its_resources()
    {
        await using var connection = env.Inventory.CreateConnection();
        var original = connection.ConnectionString;
        var elsewhere = new NpgsqlConnectionStringBuilder(env.OrdersConnectionString).ConnectionString;
        var error = Assert.Throws<InvalidOperationException>(() => connection.ConnectionString = elsewhere);
        Assert.Contains($"'{env.InventoryResourceId}'", error.Message);
        Assert.Equal(original, connection.ConnectionString);
        connection.ConnectionString = original;

        await connection.OpenAsync();
        var database = connection.Database;
        var changed = await Assert.ThrowsAsync<InvalidOperationException>(() => connection.ChangeDatabaseAsync("postgres"));
        Assert.Contains($"'{env.InventoryResourceId}'", changed.Message);
        Assert.Throws<InvalidOperationException>(() => connection.ChangeDatabase("postgres"));
        connection.ChangeDatabase(database);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT current_database()";
        Assert.Equal(database, await command.ExecuteScalarAsync());
    }

    [Fact]
    public void The_factory_refuses_to_make_a_data_source_for_another_connection_string_naming_its_resource()
    {
        var error = Assert.Throws<NotSupportedException>(() => env.Inventory.ProviderFactory!.CreateDataSource("Host=elsewhere"));
        Assert.Contains(env.InventoryResourceId, error.Message);
        Assert.Contains(nameof(AtProxyClient.Wrap), error.Message);
    }

    [Fact]
    public async Task A_factory_made_command_given_a_connection_later_joins_the_global_transaction_and_rolls_back()
    {
        const string sku = "factory-command";
        await env.SeedStockAsync([sku]);
        var factory = env.Inventory.ProviderFactory!;
        await using var command = (AtDbCommand)factory.CreateCommand();
        command.CommandText = "UPDATE stock SET count = count - 1, sold = sold + 1 WHERE sku = @sku";
        var parameter = factory.CreateParameter();
        parameter.ParameterName = "sku";
        parameter.Value = sku;
        command.Parameters.Add(parameter);
        await using (var gtx = await env.Client.BeginAsync("factory-command"))
        {
            await using var connection = (AtDbConnection)factory.CreateConnection();
            await connection.OpenAsync();
            command.Connection = connection;
            Assert.Equal(1, await command.ExecuteNonQueryAsync());
            Assert.Single(await env.LocksAsync(gtx.Xid));
            await gtx.RollbackAsync();
        }
        await env.AssertStockMatchesOrdersAsync([sku], committed: 0);
        await env.WaitForQuiescenceAsync();
    }

    [Fact]
    public async Task A_data_adapters_update_inside_a_global_transaction_is_undone_by_its_rollback()
    {
        const string sku = "adapter-update";
        await env.SeedStockAsync([sku]);
        var factory = env.Inventory.ProviderFactory!;
        await using var connection = (AtDbConnection)factory.CreateConnection();
        using var adapter = new AtDbDataAdapter(connection.CreateCommand());
        adapter.SelectCommand!.CommandText = $"SELECT sku, count, sold FROM stock WHERE sku = '{sku}'";
        var update = connection.CreateCommand();
        update.CommandText = "UPDATE stock SET count = @count, sold = @sold WHERE sku = @sku";
        foreach (var column in new[] { "count", "sold", "sku" })
        {
            var parameter = update.CreateParameter();
            parameter.ParameterName = column;
            parameter.SourceColumn = column;
            update.Parameters.Add(parameter);
        }
        adapter.UpdateCommand = update;
        var table = new DataTable();
        adapter.Fill(table);
        var row = Assert.Single(table.Rows.Cast<DataRow>());
        row["count"] = (int)row["count"] - 5;
        row["sold"] = (int)row["sold"] + 5;
        await using (var gtx = await env.Client.BeginAsync("adapter-update"))
        {
            Assert.Equal(1, adapter.Update(table));
            Assert.Single(await env.LocksAsync(gtx.Xid));
            await gtx.RollbackAsync();
        }
        await env.AssertStockMatchesOrdersAsync([sku], committed: 0);
        await using var check = new NpgsqlConnection(env.InventoryConnectionString);
        await check.OpenAsync();
        await using var sold = new NpgsqlCommand($"SELECT sold FROM stock WHERE sku = '{sku}'", check);
        Assert.Equal(0, await sold.ExecuteScalarAsync());
        await env.WaitForQuiescenceAsync();
    }

    [Fact]
    public async Task A_command_builders_writes_inside_a_global_transaction_are_all_undone_by_its_rollback()
    {
        string[] skus = ["builder-kept", "builder-deleted"];
        await env.SeedStockAsync(skus);
        await using var connection = env.Inventory.CreateConnection();
        using var adapter = new AtDbDataAdapter(connection.CreateCommand());
        adapter.SelectCommand!.CommandText = "SELECT sku, count, sold FROM stock WHERE sku LIKE 'builder-%'";
        using var builder = new AtDbCommandBuilder(adapter);
        var rows = new DataTable();
        adapter.Fill(rows);
        var kept = rows.Rows.Cast<DataRow>().Single(r => (string)r["sku"] == "builder-kept");
        kept["count"] = (int)kept["count"] - 2;
        kept["sold"] = (int)kept["sold"] + 2;
        rows.Rows.Cast<DataRow>().Single(r => (string)r["sku"] == "builder-deleted").Delete();
        rows.Rows.Add("builder-added", 5, 0);
        await using (var gtx = await env.Client.BeginAsync("builder-update"))
        {
            Assert.Equal(3, adapter.Update(rows));
            Assert.Equal(3, (await env.LocksAsync(gtx.Xid)).Count);
            await gtx.RollbackAsync();
        }
        await env.AssertStockMatchesOrdersAsync(skus, committed: 0);
        await using var check = new NpgsqlConnection(env.InventoryConnectionString);
        await check.OpenAsync();
        await using var added = new NpgsqlCommand("SELECT count(*) FROM stock WHERE sku = 'builder-added'", check);
        Assert.Equal(0L, await added.ExecuteScalarAsync());
        await env.WaitForQuiescenceAsync();
    }

    // The specification expects Disposed (Component's event) from both disposals; Npgsql 10 raises it
    // from neither, so these are the wrappers' own.
    [Fact]
    public void Dispose_raises_Disposed_once_for_a_connection_and_a_command()
    {
        var connection = env.Inventory.OpenConnection();
        var command = connection.CreateCommand();
        var (connectionDisposed, commandDisposed) = (0, 0);
        connection.Disposed += (_, _) => connectionDisposed++;
        command.Disposed += (_, _) => commandDisposed++;
        command.Dispose();
        connection.Dispose();
        connection.Dispose();
        Assert.Equal((1, 1), (connectionDisposed, commandDisposed));
        Assert.Equal(ConnectionState.Closed, connection.State);
    }

    [Fact]
    public async Task DisposeAsync_raises_Disposed_for_a_connection_and_a_command()
    {
        var connection = env.Inventory.OpenConnection();
        var command = connection.CreateCommand();
        var (connectionDisposed, commandDisposed) = (0, 0);
        connection.Disposed += (_, _) => connectionDisposed++;
        command.Disposed += (_, _) => commandDisposed++;
        await command.DisposeAsync();
        await connection.DisposeAsync();
        Assert.Equal((1, 1), (connectionDisposed, commandDisposed));
    }
}

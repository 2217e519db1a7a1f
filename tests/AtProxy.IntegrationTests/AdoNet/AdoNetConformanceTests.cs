using System.Data;
using System.Data.Common;

namespace AtProxy.IntegrationTests.AdoNet;

/// <summary>
/// What code written against ADO.NET expects of a provider, outside a global transaction: the same
/// checks run on Npgsql itself (<see cref="NpgsqlConformanceTests"/>) and on AtProxy's wrappers
/// (<see cref="AtProxyConformanceTests"/>), so a wrapper that answers differently from the provider it
/// wraps fails here. They follow the ADO.NET specification tests' factory, connection, command and
/// transaction checks.
/// </summary>
public abstract class AdoNetConformanceTests
{
    /// <summary>A closed connection to the inventory database, from the provider under test.</summary>
    protected abstract DbConnection CreateConnection();

    private DbConnection CreateOpenConnection()
    {
        var connection = CreateConnection();
        connection.Open();
        return connection;
    }

    /// <summary>A connection made by the provider's own factory, pointed at the same database when the factory left it blank.</summary>
    private DbConnection CreateConnectionFromFactory(DbProviderFactory factory)
    {
        var connection = factory.CreateConnection()!;
        if (string.IsNullOrEmpty(connection.ConnectionString))
        {
            using var template = CreateConnection();
            connection.ConnectionString = template.ConnectionString;
        }
        return connection;
    }

    private DbProviderFactory Factory()
    {
        using var connection = CreateConnection();
        return DbProviderFactories.GetFactory(connection) ?? throw new Xunit.Sdk.XunitException("DbProviderFactories.GetFactory(connection) returned null.");
    }

    [Fact]
    public void The_connections_factory_creates_connections_commands_parameters_and_builders()
    {
        var factory = Factory();
        using var connection = CreateConnection();
        using var created = factory.CreateConnection();
        Assert.IsType(connection.GetType(), created);
        using var command = factory.CreateCommand();
        Assert.NotNull(command);
        Assert.Null(command.Connection);
        Assert.NotNull(factory.CreateParameter());
        Assert.NotNull(factory.CreateConnectionStringBuilder());
        Assert.False(factory.CanCreateDataSourceEnumerator);
        Assert.Null(factory.CreateDataSourceEnumerator());
        Assert.True(factory.CanCreateBatch);
    }

    [Fact]
    public async Task A_command_made_without_a_connection_runs_once_it_is_given_one()
    {
        var factory = Factory();
        await using var connection = CreateConnectionFromFactory(factory);
        await connection.OpenAsync();
        await using var command = factory.CreateCommand()!;
        command.CommandText = "SELECT @a + 1";
        var parameter = factory.CreateParameter()!;
        parameter.ParameterName = "a";
        parameter.Value = 41;
        command.Parameters.Add(parameter);
        Assert.Throws<InvalidOperationException>(() => command.ExecuteScalar());
        command.Connection = connection;
        Assert.Equal(42, Convert.ToInt32(await command.ExecuteScalarAsync()));
        Assert.Same(connection, command.Connection);
    }

    [Fact]
    public void A_data_adapter_from_the_factory_fills_a_table_through_a_factory_command()
    {
        var factory = Factory();
        Assert.True(factory.CanCreateDataAdapter);
        using var connection = CreateConnectionFromFactory(factory);
        using var select = factory.CreateCommand()!;
        select.CommandText = "SELECT n, 'row ' || n AS label FROM generate_series(1, 3) AS n ORDER BY n";
        select.Connection = connection;
        using var adapter = factory.CreateDataAdapter()!;
        adapter.SelectCommand = select;
        var table = new DataTable();
        Assert.Equal(3, adapter.Fill(table));
        Assert.Equal(["row 1", "row 2", "row 3"], table.Rows.Cast<DataRow>().Select(r => (string)r["label"]));
        Assert.Equal(ConnectionState.Closed, connection.State);
    }

    [Fact]
    public void A_command_builder_from_the_factory_writes_an_adapters_inserts_updates_and_deletes()
    {
        var factory = Factory();
        Assert.True(factory.CanCreateCommandBuilder);
        var table = ScratchTable + "_builder";
        using var connection = CreateConnectionFromFactory(factory);
        connection.Open();
        using (var setup = connection.CreateCommand())
        {
            setup.CommandText = $"DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (id int PRIMARY KEY, label text); INSERT INTO {table} VALUES (1, 'one'), (2, 'two')";
            setup.ExecuteNonQuery();
        }
        using var select = factory.CreateCommand()!;
        select.CommandText = $"SELECT id, label FROM {table}";
        select.Connection = connection;
        using var adapter = factory.CreateDataAdapter()!;
        adapter.SelectCommand = select;
        using var builder = factory.CreateCommandBuilder()!;
        builder.DataAdapter = adapter;
        var rows = new DataTable();
        adapter.Fill(rows);
        rows.Rows.Cast<DataRow>().Single(r => (int)r["id"] == 1)["label"] = "uno";
        rows.Rows.Cast<DataRow>().Single(r => (int)r["id"] == 2).Delete();
        rows.Rows.Add(3, "three");
        Assert.Equal(3, adapter.Update(rows));
        using var check = connection.CreateCommand();
        check.CommandText = $"SELECT string_agg(id || ':' || label, ',' ORDER BY id) FROM {table}";
        Assert.Equal("1:uno,3:three", check.ExecuteScalar());
    }

    [Fact]
    public async Task A_batch_made_without_a_connection_runs_once_it_is_given_one()
    {
        var factory = Factory();
        await using var connection = CreateConnectionFromFactory(factory);
        await connection.OpenAsync();
        await using var batch = factory.CreateBatch();
        var first = factory.CreateBatchCommand();
        first.CommandText = "SELECT 1";
        var second = factory.CreateBatchCommand();
        second.CommandText = "SELECT 2";
        batch.BatchCommands.Add(first);
        batch.BatchCommands.Add(second);
        batch.Connection = connection;
        await using var reader = await batch.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(1, reader.GetInt32(0));
        Assert.True(await reader.NextResultAsync());
        Assert.True(await reader.ReadAsync());
        Assert.Equal(2, reader.GetInt32(0));
    }

    [Fact]
    public void BeginTransaction_throws_on_a_closed_connection_and_beside_another_transaction()
    {
        using var closed = CreateConnection();
        Assert.Throws<InvalidOperationException>(() => closed.BeginTransaction());
        using var connection = CreateOpenConnection();
        using var transaction = connection.BeginTransaction(IsolationLevel.Serializable);
        Assert.Same(connection, transaction.Connection);
        Assert.Equal(IsolationLevel.Serializable, transaction.IsolationLevel);
        Assert.Throws<InvalidOperationException>(() => connection.BeginTransaction());
    }

    [Fact]
    public void Commit_or_Rollback_after_Commit_or_Rollback_throws_InvalidOperationException()
    {
        using var connection = CreateOpenConnection();
        using (var transaction = connection.BeginTransaction())
        {
            transaction.Commit();
            Assert.Throws<InvalidOperationException>(() => transaction.Commit());
            Assert.Throws<InvalidOperationException>(() => transaction.Rollback());
        }
        using (var transaction = connection.BeginTransaction())
        {
            transaction.Rollback();
            Assert.Throws<InvalidOperationException>(() => transaction.Rollback());
            Assert.Throws<InvalidOperationException>(() => transaction.Commit());
        }
    }

    [Fact]
    public async Task Commit_or_Rollback_after_Dispose_throws_ObjectDisposedException()
    {
        using var connection = CreateOpenConnection();
        var transaction = connection.BeginTransaction();
        transaction.Dispose();
        Assert.Throws<ObjectDisposedException>(() => transaction.Commit());
        Assert.Throws<ObjectDisposedException>(() => transaction.Rollback());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => transaction.CommitAsync());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => transaction.RollbackAsync());

        var disposedAsync = await connection.BeginTransactionAsync();
        await disposedAsync.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => disposedAsync.CommitAsync());
        // The connection takes a new transaction once the disposed one is gone.
        using var next = connection.BeginTransaction();
        next.Commit();
    }

    [Fact]
    public void A_transaction_disposed_before_commit_rolls_its_writes_back()
    {
        using var connection = CreateOpenConnection();
        using (var transaction = connection.BeginTransaction())
        {
            using var create = connection.CreateCommand();
            create.Transaction = transaction;
            create.CommandText = $"CREATE TABLE {ScratchTable} (id int PRIMARY KEY)";
            create.ExecuteNonQuery();
        }
        using var check = connection.CreateCommand();
        check.CommandText = $"SELECT to_regclass('{ScratchTable}') IS NULL";
        Assert.Equal(true, check.ExecuteScalar());
    }

    private string ScratchTable => "conformance_" + GetType().Name.ToLowerInvariant();
}

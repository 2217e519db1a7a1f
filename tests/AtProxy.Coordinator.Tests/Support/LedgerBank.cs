using AtProxy.Testing.Postgres;
using Grpc.Net.Client;
using Npgsql;

namespace AtProxy.Coordinator.Tests.Support;

/// <summary>
/// A resource manager over a real PostgreSQL database, doing what the AT proxy does in
/// miniature: phase 1 changes account balances in a local transaction that also writes undo
/// rows and a fence row, after the branch's global lock was granted; phase 2 commit deletes the
/// undo rows; phase 2 rollback applies them in reverse. A rollback that finds no phase 1 leaves
/// a fence that makes a late phase 1 fail. It serves its resource on a phase-2 stream to every
/// coordinator it is given, as the AtProxy client does with additional coordinators.
/// </summary>
public sealed class LedgerBank : IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly List<ScriptedResourceManager> _streams = [];

    private LedgerBank(string resourceId, TestDatabase database)
    {
        ResourceId = resourceId;
        Database = database;
        _dataSource = NpgsqlDataSource.Create(database.ConnectionString);
    }

    public string ResourceId { get; }

    public TestDatabase Database { get; }

    public NpgsqlDataSource DataSource => _dataSource;

    /// <summary>Creates the bank's database with <paramref name="accounts"/> accounts of <paramref name="balance"/> each.</summary>
    public static async Task<LedgerBank> CreateAsync(string resourceId, int accounts, long balance)
    {
        var database = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync(resourceId);
        var bank = new LedgerBank(resourceId, database);
        await using (var schema = bank._dataSource.CreateCommand("""
            CREATE TABLE account (id integer PRIMARY KEY, balance bigint NOT NULL);
            CREATE TABLE undo (xid text NOT NULL, branch_id bigint NOT NULL, account integer NOT NULL, delta bigint NOT NULL, PRIMARY KEY (xid, branch_id, account));
            CREATE TABLE fence (xid text NOT NULL, branch_id bigint NOT NULL, state text NOT NULL, PRIMARY KEY (xid, branch_id));
            """))
        {
            await schema.ExecuteNonQueryAsync();
        }
        await using var fill = bank._dataSource.CreateCommand("INSERT INTO account SELECT g, $2 FROM generate_series(1, $1) AS g");
        fill.Parameters.Add(new() { Value = accounts });
        fill.Parameters.Add(new() { Value = balance });
        await fill.ExecuteNonQueryAsync();
        return bank;
    }

    /// <summary>Subscribes for the bank's resource on <paramref name="channel"/>'s coordinator.</summary>
    public async Task ConnectAsync(GrpcChannel channel)
    {
        var stream = await ScriptedResourceManager.ConnectAsync(channel, "ledger", ResourceId);
        stream.Script = AnswerAsync;
        lock (_streams)
        {
            _streams.Add(stream);
        }
    }

    private async Task<BranchCommandResult> AnswerAsync(BranchCommand command)
    {
        try
        {
            if (command.Action == BranchAction.Commit)
            {
                await CommitAsync(command.Xid, command.BranchId);
            }
            else
            {
                await RollbackAsync(command.Xid, command.BranchId);
            }
            return ScriptedResourceManager.Succeed(command);
        }
        catch (NpgsqlException ex)
        {
            return ScriptedResourceManager.Fail(command, retryable: true, ex.Message);
        }
    }

    private async Task CommitAsync(string xid, long branchId)
    {
        await using var batch = _dataSource.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand("DELETE FROM undo WHERE xid = $1 AND branch_id = $2") { Parameters = { new() { Value = xid }, new() { Value = branchId } } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand("UPDATE fence SET state = 'committed' WHERE xid = $1 AND branch_id = $2") { Parameters = { new() { Value = xid }, new() { Value = branchId } } });
        await batch.ExecuteNonQueryAsync();
    }

    private async Task RollbackAsync(string xid, long branchId)
    {
        await using var connection = await _dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        // The fence first: it waits for a phase 1 in progress, and blocks one that has not started.
        await using (var fence = new NpgsqlCommand(
            "INSERT INTO fence (xid, branch_id, state) VALUES ($1, $2, 'rolledback') ON CONFLICT (xid, branch_id) DO UPDATE SET state = 'rolledback'",
            connection, transaction))
        {
            fence.Parameters.Add(new() { Value = xid });
            fence.Parameters.Add(new() { Value = branchId });
            await fence.ExecuteNonQueryAsync();
        }
        await using (var undo = new NpgsqlCommand("""
            WITH taken AS (DELETE FROM undo WHERE xid = $1 AND branch_id = $2 RETURNING account, delta)
            UPDATE account a SET balance = a.balance - t.delta FROM taken t WHERE a.id = t.account
            """, connection, transaction))
        {
            undo.Parameters.Add(new() { Value = xid });
            undo.Parameters.Add(new() { Value = branchId });
            await undo.ExecuteNonQueryAsync();
        }
        await transaction.CommitAsync();
    }

    /// <summary>
    /// Phase 1 of one branch: changes <paramref name="account"/> by <paramref name="delta"/> while the
    /// local row lock is held, registers the branch through <paramref name="register"/> (which
    /// returns the branch id, or null on a lock conflict), and commits with the undo and fence rows.
    /// </summary>
    /// <returns>The branch id when the local transaction committed; null when the branch did not happen.</returns>
    public async Task<long?> PhaseOneAsync(string xid, int account, long delta, Func<Task<long?>> register)
    {
        await using var connection = await _dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var change = new NpgsqlCommand("UPDATE account SET balance = balance + $2 WHERE id = $1", connection, transaction))
        {
            change.Parameters.Add(new() { Value = account });
            change.Parameters.Add(new() { Value = delta });
            await change.ExecuteNonQueryAsync();
        }
        var branchId = await register();
        if (branchId is null)
        {
            await transaction.RollbackAsync();
            return null;
        }
        try
        {
            await using (var undo = new NpgsqlBatch(connection, transaction))
            {
                undo.BatchCommands.Add(new NpgsqlBatchCommand("INSERT INTO undo (xid, branch_id, account, delta) VALUES ($1, $2, $3, $4)")
                {
                    Parameters = { new() { Value = xid }, new() { Value = branchId.Value }, new() { Value = account }, new() { Value = delta } },
                });
                undo.BatchCommands.Add(new NpgsqlBatchCommand("INSERT INTO fence (xid, branch_id, state) VALUES ($1, $2, 'prepared')")
                {
                    Parameters = { new() { Value = xid }, new() { Value = branchId.Value } },
                });
                await undo.ExecuteNonQueryAsync();
            }
            await transaction.CommitAsync();
            return branchId;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return null; // rolled back before phase 1 finished: the fence refused it
        }
    }

    public async Task<Dictionary<int, long>> BalancesAsync()
    {
        var balances = new Dictionary<int, long>();
        await using var command = _dataSource.CreateCommand("SELECT id, balance FROM account");
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            balances[reader.GetInt32(0)] = reader.GetInt64(1);
        }
        return balances;
    }

    public async Task<long> CountAsync(string sql)
    {
        await using var command = _dataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        ScriptedResourceManager[] streams;
        lock (_streams)
        {
            streams = [.. _streams];
        }
        foreach (var stream in streams)
        {
            await stream.DisposeAsync();
        }
        await _dataSource.DisposeAsync();
        await Database.DisposeAsync();
    }
}

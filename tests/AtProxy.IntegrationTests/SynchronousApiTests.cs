using System.Collections.Concurrent;
using Dapper;
using Npgsql;

namespace AtProxy.IntegrationTests;

/// <summary>
/// The blocking ADO.NET methods run the async phase-1 code and wait for it. On a UI-style
/// synchronization context (one thread, continuations queued to it) a wait that let a continuation
/// capture the context would hang forever: these run there, and finish.
/// </summary>
public class SynchronousApiTests(OrderInventoryEnvironment env) : IClassFixture<OrderInventoryEnvironment>
{
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Blocking_calls_on_a_single_threaded_synchronization_context_complete_and_roll_back_exactly()
    {
        const string sku = "sync-context";
        await env.SeedStockAsync([sku], 100);
        await using var gtx = await env.Client.BeginAsync("sync-context", TimeSpan.FromSeconds(90));
        var xid = gtx.Xid;

        await SingleThreadContext.RunAsync(() =>
        {
            using var joined = env.Client.Join(xid);
            using var connection = env.Inventory.OpenConnection();
            using (var transaction = connection.BeginTransaction())
            {
                using var update = connection.CreateCommand();
                update.Transaction = transaction;
                update.CommandText = "UPDATE stock SET count = count - 1, sold = sold + 1 WHERE sku = @sku";
                update.Parameters.Add(new NpgsqlParameter("sku", sku));
                Assert.Equal(1, update.ExecuteNonQuery());
                transaction.Commit();
            }
            // An autocommit statement is a branch of its own, committed inside ExecuteScalar.
            using var autocommit = connection.CreateCommand();
            autocommit.CommandText = "UPDATE stock SET count = count - 2, sold = sold + 2 WHERE sku = @sku RETURNING count";
            autocommit.Parameters.Add(new NpgsqlParameter("sku", sku));
            Assert.Equal(97, Convert.ToInt32(autocommit.ExecuteScalar()));
        }).WaitAsync(Hang);

        // Two branches committed locally (the transaction's and the autocommit statement's), one row locked.
        await using var inventory = new NpgsqlConnection(env.InventoryConnectionString);
        Assert.Equal(2, await inventory.ExecuteScalarAsync<long>("SELECT count(*) FROM atproxy_undo_log WHERE xid = @xid", new { xid }));
        Assert.Single(await env.LocksAsync(xid));
        await gtx.RollbackAsync();
        Assert.True(gtx.Status.IsRollbackDecided());

        var (count, sold) = await inventory.QuerySingleAsync<(int, int)>("SELECT count, sold FROM stock WHERE sku = @sku", new { sku });
        Assert.Equal((100, 0), (count, sold));
        Assert.Empty(await env.LocksAsync(xid));
    }

    [Fact]
    public async Task A_blocking_data_source_dispose_on_a_single_threaded_synchronization_context_completes()
    {
        var source = env.Client.Wrap(NpgsqlDataSource.Create(env.InventoryConnectionString), "inventory-db");
        await SingleThreadContext.RunAsync(() =>
        {
            using (var connection = source.OpenConnection())
            using (var select = connection.CreateCommand())
            {
                select.CommandText = "SELECT 1";
                Assert.Equal(1, Convert.ToInt32(select.ExecuteScalar()));
            }
            // Settles the resource's phase-2 work and drains its undo deletes before it returns.
            source.Dispose();
        }).WaitAsync(Hang);
    }

    /// <summary>A UI thread in miniature: one thread, a queue of posted continuations, pumped until the work is done.</summary>
    private sealed class SingleThreadContext : SynchronizationContext
    {
        private readonly BlockingCollection<(SendOrPostCallback Callback, object? State)> _queue = [];

        public override void Post(SendOrPostCallback d, object? state) => _queue.Add((d, state));

        public override void Send(SendOrPostCallback d, object? state) => throw new NotSupportedException("Send would block the only thread.");

        public static Task RunAsync(Action work)
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var thread = new Thread(() =>
            {
                var context = new SingleThreadContext();
                SetSynchronizationContext(context);
                try
                {
                    work();
                    done.SetResult();
                }
                catch (Exception ex)
                {
                    done.SetException(ex);
                }
                // Run whatever was posted meanwhile, as a UI thread would once it is free again.
                while (context._queue.TryTake(out var item))
                {
                    item.Callback(item.State);
                }
            }) { IsBackground = true, Name = "single-thread context" };
            thread.Start();
            return done.Task;
        }
    }
}

using System.Collections.Concurrent;

namespace AtProxy.Coordinator.Tests;

/// <summary>
/// A rollback's order: the branches of one database newest first, one at a time; different
/// databases (told apart by the resource identity) at once.
/// </summary>
public class RollbackLaneTests
{
    private static async Task<long> RegisterOnAsync(InProcessCoordinator coordinator, string xid, string resourceId, string identity, string key)
    {
        var request = new RegisterBranchRequest { Xid = xid, ResourceId = resourceId, ApplicationId = "test-app", ResourceIdentity = identity };
        request.LockKeys.Add(CoordinatorClientExtensions.Key(key));
        var response = await coordinator.Rm.RegisterBranchAsync(request);
        Assert.Null(response.Conflict);
        return response.BranchId;
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task Rollback_concurrent_transactions_on_two_databases_roll_each_database_back_at_the_same_time(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store, configure: s => s["Coordinator:BranchCommandTimeoutMs"] = "30000");
        await using var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "orders-db", "inventory-db");
        // Each branch's rollback answers only once the other database's command of its transaction
        // has arrived too: rolled back one after the other, neither would ever answer in time.
        var arrived = new ConcurrentDictionary<string, TaskCompletionSource>();
        TaskCompletionSource Both(string xid) => arrived.GetOrAdd(xid, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        var seen = new ConcurrentDictionary<string, int>();
        rm.Script = async command =>
        {
            if (seen.AddOrUpdate(command.Xid, 1, (_, n) => n + 1) == 2)
            {
                Both(command.Xid).TrySetResult();
            }
            try
            {
                await Both(command.Xid).Task.WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (TimeoutException)
            {
                return ScriptedResourceManager.Fail(command, retryable: true, "the other database's rollback did not come while this one was under way");
            }
            return ScriptedResourceManager.Succeed(command);
        };

        var xids = await Task.WhenAll(Enumerable.Range(0, 20).Select(async i =>
        {
            var xid = await coordinator.Tm.BeginAsync();
            await RegisterOnAsync(coordinator, xid, "orders-db", "identity-orders", $"orders:{i}");
            await RegisterOnAsync(coordinator, xid, "inventory-db", "identity-inventory", $"stock:{i}");
            return xid;
        }));

        var statuses = await Task.WhenAll(xids.Select(xid => coordinator.Tm.RollbackAsync(xid)));

        Assert.All(statuses, status => Assert.Equal(GlobalStatus.Rollbacked, status));
        Assert.Equal(2 * xids.Length, rm.Received.Count); // no command was sent twice
        Assert.Equal(0, await coordinator.Admin.LockCountAsync());
        foreach (var xid in xids)
        {
            var shown = await coordinator.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid });
            Assert.All(shown.Transaction.Branches, branch => Assert.Equal(BranchStatus.PhaseTwoRollbacked, branch.Status));
        }
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task Rollback_branches_on_one_database_go_newest_first_one_at_a_time_while_another_database_goes_alongside(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store, configure: s => s["Coordinator:BranchCommandTimeoutMs"] = "30000");
        await using var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "orders-db", "orders-audit", "inventory-db");
        var inFlight = new ConcurrentDictionary<string, int>();
        var mostAtOnce = new ConcurrentDictionary<string, int>();
        var order = new ConcurrentQueue<long>();
        var inventoryStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        rm.Script = async command =>
        {
            var now = inFlight.AddOrUpdate(command.ResourceIdentity, 1, (_, n) => n + 1);
            mostAtOnce.AddOrUpdate(command.ResourceIdentity, now, (_, n) => Math.Max(n, now));
            order.Enqueue(command.BranchId);
            if (command.ResourceIdentity == "identity-inventory")
            {
                inventoryStarted.TrySetResult();
            }
            else
            {
                // The orders database's rollbacks run while the inventory's is under way.
                try
                {
                    await inventoryStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));
                }
                catch (TimeoutException)
                {
                    inFlight.AddOrUpdate(command.ResourceIdentity, 0, (_, n) => n - 1);
                    return ScriptedResourceManager.Fail(command, retryable: true, "the inventory database's rollback did not come while this one was under way");
                }
            }
            inFlight.AddOrUpdate(command.ResourceIdentity, 0, (_, n) => n - 1);
            return ScriptedResourceManager.Succeed(command);
        };
        var xid = await coordinator.Tm.BeginAsync();
        // Two resource ids over one database share its identity: one database, so one after the other.
        var oldest = await RegisterOnAsync(coordinator, xid, "orders-db", "identity-orders", "orders:1");
        var inventory = await RegisterOnAsync(coordinator, xid, "inventory-db", "identity-inventory", "stock:1");
        var newest = await RegisterOnAsync(coordinator, xid, "orders-audit", "identity-orders", "audit:1");

        Assert.Equal(GlobalStatus.Rollbacked, await coordinator.Tm.RollbackAsync(xid));

        var ordersOrder = order.Where(id => id != inventory).ToList();
        Assert.Equal([newest, oldest], ordersOrder);
        Assert.Equal(1, mostAtOnce["identity-orders"]);
        Assert.Contains(inventory, order);
        Assert.Equal(0, await coordinator.Admin.LockCountAsync(xid));
    }
}

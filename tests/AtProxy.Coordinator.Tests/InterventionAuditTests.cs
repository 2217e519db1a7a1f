using AtProxy.Coordinator.Tests.Storage;
using AtProxy.Testing.Coordinator;
using Npgsql;

namespace AtProxy.Coordinator.Tests;

/// <summary>
/// The intervention audit: every intervention (who, when, what, why, the status before and after,
/// which coordinator) is durable with the change it made, listed newest first, and outlives its
/// transaction's purge and the coordinator's restart, also after SIGKILL.
/// </summary>
public class InterventionAuditTests
{
    private static Grpc.Core.Metadata Operator(string name) => new() { { "atproxy-operator", name } };

    private static async Task<List<Intervention>> AllAsync(Protocol.V1.Admin.AdminClient admin, string xid = "", int pageSize = 0)
    {
        var all = new List<Intervention>();
        var token = "";
        do
        {
            var page = await admin.ListInterventionsAsync(new ListInterventionsRequest { Xid = xid, PageSize = pageSize, PageToken = token });
            all.AddRange(page.Interventions);
            token = page.NextPageToken;
        }
        while (token != "");
        return all;
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task Concurrent_interventions_amid_concurrent_transactions_are_each_audited_once_newest_first(string store)
    {
        const int Stuck = 10;
        await using var coordinator = await InProcessCoordinator.StartAsync(store, configure: InProcessCoordinator.RetryAfterAMinute);
        var stuck = new List<string>();
        for (var i = 0; i < Stuck; i++)
        {
            var xid = await coordinator.Tm.BeginAsync();
            await coordinator.Rm.RegisterGrantedAsync(xid, "orders-db", $"t:{i}"); // no resource manager: phase 2 waits
            stuck.Add(xid);
        }

        // Two operators roll the stuck ones back while applications begin and commit others.
        using var traffic = new CancellationTokenSource();
        var others = Task.Run(async () =>
        {
            var committed = 0;
            while (!traffic.IsCancellationRequested)
            {
                await coordinator.Tm.CommitAsync(await coordinator.Tm.BeginAsync());
                committed++;
            }
            return committed;
        });
        await Task.WhenAll(stuck.Select((xid, i) => coordinator.Admin.ForceRollbackAsync(
            new InterveneRequest { Xid = xid, Reason = $"cancel order {i}", ExpectedStatus = GlobalStatus.Begin }, Operator(i % 2 == 0 ? "alice" : "bob")).ResponseAsync));
        // Each first attempt finds no resource manager: ROLLBACK_RETRYING, which a person may retry.
        await Task.WhenAll(stuck.Select(xid => coordinator.Tm.WaitForStatusAsync(xid, GlobalStatus.RollbackRetrying)));
        await Task.WhenAll(stuck.Select((xid, i) => coordinator.Admin.RetryAsync(
            new InterveneRequest { Xid = xid, Reason = $"retry order {i}" }, Operator("carol")).ResponseAsync));
        await traffic.CancelAsync();
        Assert.True(await others > 0);

        var all = await AllAsync(coordinator.Admin, pageSize: 3);
        Assert.Equal(2 * Stuck, all.Count);
        Assert.Equal(all.Select(e => e.Id).OrderDescending(), all.Select(e => e.Id));
        Assert.Equal(all.Count, all.Select(e => e.Id).Distinct().Count());
        for (var i = 0; i < Stuck; i++)
        {
            var entries = await AllAsync(coordinator.Admin, stuck[i]);
            Assert.Equal(["retry", "force_rollback"], entries.Select(e => e.Action));
            var (retry, rollback) = (entries[0], entries[1]);
            Assert.Equal((i % 2 == 0 ? "alice" : "bob", $"cancel order {i}", GlobalStatus.Begin, GlobalStatus.Rollbacking, "tc", 0L),
                (rollback.Actor, rollback.Reason, rollback.StatusBefore, rollback.StatusAfter, rollback.CoordinatorId, rollback.BranchId));
            Assert.Equal(("carol", $"retry order {i}", GlobalStatus.RollbackRetrying), (retry.Actor, retry.Reason, retry.StatusAfter));
            Assert.True(retry.AtUnixMs >= rollback.AtUnixMs);
        }

        var bad = await Assert.ThrowsAsync<RpcException>(() => coordinator.Admin.ListInterventionsAsync(new ListInterventionsRequest { PageToken = "nope" }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
        bad = await Assert.ThrowsAsync<RpcException>(() => coordinator.Admin.ListInterventionsAsync(new ListInterventionsRequest { Xid = "no colon" }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
    }

    [Theory]
    [MemberData(nameof(DurableStores.All), MemberType = typeof(DurableStores))]
    public async Task An_entry_outlives_its_transactions_purge_the_logs_compaction_and_a_restart(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store, configure: s =>
        {
            s["Coordinator:EndedRetentionMs"] = "0";
            s["Coordinator:CompactionThresholdBytes"] = "4096";
        });
        await using (var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db"))
        {
            rm.Script = command => Task.FromResult(ScriptedResourceManager.Fail(command, retryable: false, "dirty write on t:1"));
            var xid = await coordinator.Tm.BeginAsync();
            var branch = await coordinator.Rm.RegisterGrantedAsync(xid, "db", "t:1");
            Assert.Equal(GlobalStatus.RollbackFailed, await coordinator.Tm.RollbackAsync(xid));

            Assert.Equal(GlobalStatus.Finished, (await coordinator.Admin.ForgetBranchAsync(
                new ForgetBranchRequest { Xid = xid, BranchId = branch, Reason = "kept the warehouse's count", ExpectedStatus = GlobalStatus.RollbackFailed },
                Operator("alice"))).Status);
            // Ended and purged at once (retention 0), with traffic enough to compact the embedded log several times.
            for (var i = 0; i < 100; i++)
            {
                await coordinator.Tm.CommitAsync(await coordinator.Tm.BeginAsync());
            }
            await Eventually.TrueAsync(async () => !(await coordinator.Admin.ListTransactionsAsync(new ListTransactionsRequest())).Transactions.Any(t => t.Xid == xid),
                null, $"{xid} to be purged");
            if (coordinator.StoreInstance is global::AtProxy.Coordinator.Storage.Embedded.EmbeddedCoordinatorStore embedded)
            {
                Assert.True(embedded.Compactions > 0, "the log was compacted after the intervention");
            }

            await coordinator.RestartAsync();

            var entry = Assert.Single(await AllAsync(coordinator.Admin, xid));
            Assert.Equal(("forget_branch", "alice", branch, "kept the warehouse's count", GlobalStatus.RollbackFailed, GlobalStatus.Finished),
                (entry.Action, entry.Actor, entry.BranchId, entry.Reason, entry.StatusBefore, entry.StatusAfter));
            var again = await coordinator.Admin.ForceRollbackAsync(new InterveneRequest { Xid = await coordinator.Tm.BeginAsync(), Reason = "after the restart" });
            var all = await AllAsync(coordinator.Admin);
            Assert.Equal(2, all.Count);
            Assert.True(all[0].Id > all[1].Id, "ids keep growing after a restart");
        }
    }

    [Theory]
    [MemberData(nameof(DurableStores.All), MemberType = typeof(DurableStores))]
    public async Task An_answered_intervention_survives_sigkill(string store)
    {
        var (options, database) = await DurableStores.ProcessOptionsAsync(store);
        await using var dropped = database;
        await using var coordinator = await CoordinatorProcess.StartAsync(options);
        var tm = new TransactionManager.TransactionManagerClient(coordinator.Channel);
        var rm = new ResourceManager.ResourceManagerClient(coordinator.Channel);
        var admin = new Protocol.V1.Admin.AdminClient(coordinator.Channel);
        var xids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var xid = await tm.BeginAsync();
            await rm.RegisterGrantedAsync(xid, "nobody-db", $"t:{i}");
            xids.Add(xid);
        }
        await Task.WhenAll(xids.Select(xid => admin.ForceRollbackAsync(new InterveneRequest { Xid = xid, Reason = "cancelled", ExpectedStatus = GlobalStatus.Begin }, Operator("alice")).ResponseAsync));

        coordinator.Kill();
        await coordinator.RestartAsync();
        admin = new Protocol.V1.Admin.AdminClient(coordinator.Channel);

        var all = await AllAsync(admin);
        Assert.Equal(xids.Order(), all.Select(e => e.Xid).Order());
        Assert.All(all, e => Assert.Equal(("force_rollback", "alice", GlobalStatus.Begin, GlobalStatus.Rollbacking), (e.Action, e.Actor, e.StatusBefore, e.StatusAfter)));
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task Entries_older_than_InterventionRetentionMs_are_dropped(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store, configure: s => s["Coordinator:InterventionRetentionMs"] = "500");
        var xid = await coordinator.Tm.BeginAsync();
        await coordinator.Admin.ForceRollbackAsync(new InterveneRequest { Xid = xid, Reason = "short-lived record" });
        Assert.Single(await AllAsync(coordinator.Admin, xid));

        await Eventually.TrueAsync(async () => (await AllAsync(coordinator.Admin, xid)).Count == 0, null, "the audit entry to expire");
    }

    [Fact]
    public async Task A_store_at_schema_version_2_is_upgraded_to_3_with_the_audit_table()
    {
        await using var coordinator = await InProcessCoordinator.StartAsync("postgres");
        var xid = await coordinator.Tm.BeginAsync();
        await using (var connection = new NpgsqlConnection(coordinator.StoreConnection))
        {
            await connection.OpenAsync();
            // Version 2 as it was: no audit table, and the foreign keys and page fill version 4 changed.
            await using var downgrade = new NpgsqlCommand($"""
                DROP TABLE atproxy_coordinator.intervention;
                {PostgresStoreWritesTests.Version3Constraints}
                DELETE FROM atproxy_coordinator.schema_version WHERE version >= 3
                """, connection);
            await downgrade.ExecuteNonQueryAsync();
        }

        await coordinator.RestartAsync();

        Assert.Equal(GlobalStatus.Begin, await coordinator.Tm.StatusAsync(xid));
        await coordinator.Admin.ForceRollbackAsync(new InterveneRequest { Xid = xid, Reason = "after the upgrade" });
        Assert.Equal("after the upgrade", Assert.Single(await AllAsync(coordinator.Admin, xid)).Reason);
    }
}

namespace AtProxy.Coordinator.Tests;

/// <summary>The admin service: listing, details, and every intervention with its refusals.</summary>
public class AdminTests
{
    private static InterveneRequest Intervene(string xid, string reason = "checked the rows by hand") => new() { Xid = xid, Reason = reason };

    private static Grpc.Core.Metadata Operator(string name) => new() { { "atproxy-operator", name } };

    private static async Task<RpcException> Refused(Func<Task> call, StatusCode expected)
    {
        var error = await Assert.ThrowsAsync<RpcException>(call);
        Assert.Equal(expected, error.StatusCode);
        return error;
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task ListTransactions_filters_and_pages_oldest_first(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        var tm = coordinator.Tm;
        var orders = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            orders.Add(await tm.BeginAsync("place-order", applicationId: "orders"));
        }
        var refund = await tm.BeginAsync("refund", applicationId: "payments");
        await tm.CommitAsync(orders[1]);
        await tm.RollbackAsync(orders[2]);

        var all = await coordinator.Admin.ListTransactionsAsync(new ListTransactionsRequest());
        Assert.Equal([.. orders, refund], all.Transactions.Select(t => t.Xid));
        Assert.Equal("", all.NextPageToken);

        var begun = await coordinator.Admin.ListTransactionsAsync(new ListTransactionsRequest { Statuses = { GlobalStatus.Begin }, Name = "place-order" });
        Assert.Equal([orders[0], orders[3], orders[4]], begun.Transactions.Select(t => t.Xid));

        var ended = await coordinator.Admin.ListTransactionsAsync(new ListTransactionsRequest { Statuses = { GlobalStatus.Committed, GlobalStatus.Rollbacked } });
        Assert.Equal([orders[1], orders[2]], ended.Transactions.Select(t => t.Xid));

        var payments = await coordinator.Admin.ListTransactionsAsync(new ListTransactionsRequest { ApplicationId = "payments" });
        Assert.Equal(("refund", "payments"), (Assert.Single(payments.Transactions).Name, payments.Transactions[0].ApplicationId));

        Assert.Empty((await coordinator.Admin.ListTransactionsAsync(new ListTransactionsRequest { OlderThanMs = 3_600_000 })).Transactions);
        // Every transaction becomes older than 10 ms as time goes on.
        await Eventually.EqualAsync(6, async () => (await coordinator.Admin.ListTransactionsAsync(new ListTransactionsRequest { OlderThanMs = 10 })).Transactions.Count,
            null, "the transactions older than 10 ms");

        var pages = new List<string>();
        var token = "";
        do
        {
            var page = await coordinator.Admin.ListTransactionsAsync(new ListTransactionsRequest { PageSize = 4, PageToken = token });
            Assert.True(page.Transactions.Count <= 4);
            pages.AddRange(page.Transactions.Select(t => t.Xid));
            token = page.NextPageToken;
        }
        while (token != "");
        Assert.Equal([.. orders, refund], pages);

        await Refused(() => coordinator.Admin.ListTransactionsAsync(new ListTransactionsRequest { PageSize = 1001 }).ResponseAsync, StatusCode.InvalidArgument);
        await Refused(() => coordinator.Admin.ListTransactionsAsync(new ListTransactionsRequest { PageToken = "not-a-token" }).ResponseAsync, StatusCode.InvalidArgument);
        await Refused(() => coordinator.Admin.ListTransactionsAsync(new ListTransactionsRequest { OlderThanMs = -1 }).ResponseAsync, StatusCode.InvalidArgument);
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task GetTransaction_shows_branches_locks_history_and_timeout_left(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        var xid = await coordinator.Tm.BeginAsync("place-order", timeoutMs: 60_000, applicationId: "orders");
        var branch = await coordinator.Rm.RegisterGrantedAsync(xid, "orders-db", "public.orders:1", "public.orders:2");

        var details = await coordinator.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid });

        Assert.Equal((xid, "place-order", "orders", GlobalStatus.Begin, 60_000u),
            (details.Transaction.Xid, details.Transaction.Name, details.Transaction.ApplicationId, details.Transaction.Status, details.Transaction.TimeoutMs));
        var info = Assert.Single(details.Transaction.Branches);
        Assert.Equal((branch, "orders-db", BranchStatus.Registered, 2), (info.BranchId, info.ResourceId, info.Status, info.LockCount));
        Assert.Equal(["1", "2"], details.Locks.Select(l => l.Key.PrimaryKey).Order());
        Assert.All(details.Locks, l => Assert.Equal((xid, branch, "orders-db"), (l.Xid, l.BranchId, l.ResourceId)));
        Assert.InRange(details.TimeoutLeftMs, 50_000, 60_000);
        Assert.Empty(details.History);

        await coordinator.Tm.RollbackAsync(xid); // no resource manager: waits in RollbackRetrying
        details = await coordinator.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid });
        Assert.Equal(0, details.TimeoutLeftMs);
        Assert.Equal([(GlobalStatus.Begin, GlobalStatus.Rollbacking), (GlobalStatus.Rollbacking, GlobalStatus.RollbackRetrying)],
            details.History.Select(h => (h.From, h.To)));
        Assert.Equal(["application:orders", "coordinator"], details.History.Select(h => h.Actor));
        Assert.Equal("rolled back by the application", details.History[0].Reason);
        Assert.Contains("No resource manager", details.History[1].Reason);
        Assert.True(details.Transaction.Attempts >= 1);

        await Refused(() => coordinator.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = "tc:999999" }).ResponseAsync, StatusCode.NotFound);
        await Refused(() => coordinator.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = "no-colon" }).ResponseAsync, StatusCode.InvalidArgument);
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task ListLocks_filters_by_resource_table_key_prefix_and_xid_and_pages(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        var a = await coordinator.Tm.BeginAsync();
        var b = await coordinator.Tm.BeginAsync();
        await coordinator.Rm.RegisterGrantedAsync(a, "db-1", "public.orders:10", "public.orders:11", "public.items:10");
        await coordinator.Rm.RegisterGrantedAsync(b, "db-2", "public.orders:10", "public.orders:20");

        async Task<List<string>> Keys(ListLocksRequest request) =>
            [.. (await coordinator.Admin.ListLocksAsync(request)).Locks.Select(l => $"{l.ResourceId}/{l.Key.Table}:{l.Key.PrimaryKey}").Order()];

        Assert.Equal(5, (await Keys(new ListLocksRequest())).Count);
        Assert.Equal(["db-1/public.items:10", "db-1/public.orders:10", "db-1/public.orders:11"], await Keys(new ListLocksRequest { ResourceId = "db-1" }));
        Assert.Equal(["db-1/public.items:10"], await Keys(new ListLocksRequest { Table = "public.items" }));
        Assert.Equal(["db-1/public.orders:10", "db-1/public.orders:11", "db-2/public.orders:10"], await Keys(new ListLocksRequest { Table = "public.orders", PrimaryKeyPrefix = "1" }));
        Assert.Equal(["db-2/public.orders:10", "db-2/public.orders:20"], await Keys(new ListLocksRequest { Xid = b }));

        var paged = new List<string>();
        var token = "";
        do
        {
            var page = await coordinator.Admin.ListLocksAsync(new ListLocksRequest { PageSize = 2, PageToken = token });
            Assert.True(page.Locks.Count <= 2);
            paged.AddRange(page.Locks.Select(l => $"{l.ResourceId}/{l.Key.Table}:{l.Key.PrimaryKey}"));
            token = page.NextPageToken;
        }
        while (token != "");
        Assert.Equal(5, paged.Distinct().Count());
        Assert.Equal(5, paged.Count);

        await Refused(() => coordinator.Admin.ListLocksAsync(new ListLocksRequest { Xid = "bad xid" }).ResponseAsync, StatusCode.InvalidArgument);
        await Refused(() => coordinator.Admin.ListLocksAsync(new ListLocksRequest { PageSize = -1 }).ResponseAsync, StatusCode.InvalidArgument);
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task Retry_rollback_failed_after_the_data_was_fixed_rolls_back_and_records_who_and_why(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        await using var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db");
        var fixedByHand = false;
        rm.Script = command => Task.FromResult(Volatile.Read(ref fixedByHand)
            ? ScriptedResourceManager.Succeed(command)
            : ScriptedResourceManager.Fail(command, retryable: false, "dirty write on t:1"));
        var xid = await coordinator.Tm.BeginAsync();
        await coordinator.Rm.RegisterGrantedAsync(xid, "db", "t:1");
        Assert.Equal(GlobalStatus.RollbackFailed, await coordinator.Tm.RollbackAsync(xid));

        await Refused(() => coordinator.Admin.RetryAsync(Intervene(xid, "")).ResponseAsync, StatusCode.InvalidArgument);
        await Refused(() => coordinator.Admin.RetryAsync(Intervene(xid, new string('x', 1025))).ResponseAsync, StatusCode.InvalidArgument);
        Volatile.Write(ref fixedByHand, true);
        var status = (await coordinator.Admin.RetryAsync(Intervene(xid, "restored t:1 from the audit log"), Operator("alice"))).Status;

        Assert.Equal(GlobalStatus.RollbackRetrying, status);
        await coordinator.Tm.WaitForStatusAsync(xid, GlobalStatus.Rollbacked);
        Assert.Equal(0, await coordinator.Admin.LockCountAsync());
        var history = (await coordinator.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid })).History;
        var intervention = Assert.Single(history, h => h.Actor == "alice");
        Assert.Equal((GlobalStatus.RollbackFailed, GlobalStatus.RollbackRetrying, "restored t:1 from the audit log"), (intervention.From, intervention.To, intervention.Reason));
        Assert.Equal(GlobalStatus.Rollbacked, history[^1].To);
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task Retry_transaction_not_retrying_or_failed_is_refused(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        var begun = await coordinator.Tm.BeginAsync();
        var committed = await coordinator.Tm.BeginAsync();
        await coordinator.Tm.CommitAsync(committed);

        var error = await Refused(() => coordinator.Admin.RetryAsync(Intervene(begun)).ResponseAsync, StatusCode.FailedPrecondition);
        Assert.Contains("BEGIN", error.Status.Detail);
        await Refused(() => coordinator.Admin.RetryAsync(Intervene(committed)).ResponseAsync, StatusCode.FailedPrecondition);
        await Refused(() => coordinator.Admin.RetryAsync(Intervene("tc:424242")).ResponseAsync, StatusCode.NotFound);
        Assert.Empty((await coordinator.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = begun })).History);
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task Retry_retrying_transaction_resets_the_back_off(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store, configure: InProcessCoordinator.RetryAfterAMinute);
        await using var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db");
        rm.Script = ScriptedResourceManager.BusyOnceThenSucceed();
        var xid = await coordinator.Tm.BeginAsync();
        await coordinator.Rm.RegisterGrantedAsync(xid, "db", "t:1");
        Assert.Equal(GlobalStatus.RollbackRetrying, await coordinator.Tm.RollbackAsync(xid));

        Assert.Equal(GlobalStatus.RollbackRetrying, (await coordinator.Admin.RetryAsync(Intervene(xid, "database is back"))).Status);

        await coordinator.Tm.WaitForStatusAsync(xid, GlobalStatus.Rollbacked, TimeSpan.FromSeconds(10));
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task ForceRollback_begin_transaction_rolls_it_back_and_is_refused_once_commit_was_decided(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        await using var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db");
        var stuck = await coordinator.Tm.BeginAsync();
        await coordinator.Rm.RegisterGrantedAsync(stuck, "db", "t:1");

        var status = (await coordinator.Admin.ForceRollbackAsync(Intervene(stuck, "the order service died mid-way"), Operator("bob"))).Status;

        Assert.True(status is GlobalStatus.Rollbacking or GlobalStatus.Rollbacked, $"{status}");
        await coordinator.Tm.WaitForStatusAsync(stuck, GlobalStatus.Rollbacked);
        var first = (await coordinator.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = stuck })).History[0];
        Assert.Equal((GlobalStatus.Rollbacking, "bob", "the order service died mid-way"), (first.To, first.Actor, first.Reason));

        var committing = await coordinator.Tm.BeginAsync();
        rm.Script = _ => Task.FromException<BranchCommandResult>(new OperationCanceledException()); // commit stays unanswered
        await coordinator.Rm.RegisterGrantedAsync(committing, "db", "t:2");
        Assert.Equal(GlobalStatus.AsyncCommitting, await coordinator.Tm.CommitAsync(committing));
        var error = await Refused(() => coordinator.Admin.ForceRollbackAsync(Intervene(committing)).ResponseAsync, StatusCode.FailedPrecondition);
        Assert.Contains("commit was decided", error.Status.Detail);
        await Refused(() => coordinator.Admin.ForceRollbackAsync(Intervene(stuck)).ResponseAsync, StatusCode.FailedPrecondition);
        await Refused(() => coordinator.Admin.ForceRollbackAsync(Intervene(stuck, " ")).ResponseAsync, StatusCode.InvalidArgument);
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task ForceCommit_begin_or_commit_failed_commits_and_is_refused_once_rollback_was_decided(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        await using var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db");
        var begun = await coordinator.Tm.BeginAsync();
        await coordinator.Rm.RegisterGrantedAsync(begun, "db", "t:1");

        Assert.Equal(GlobalStatus.AsyncCommitting, (await coordinator.Admin.ForceCommitAsync(Intervene(begun, "the client committed, the call was lost"))).Status);
        await coordinator.Tm.WaitForStatusAsync(begun, GlobalStatus.Committed);

        var failing = true;
        rm.Script = command => Task.FromResult(Volatile.Read(ref failing)
            ? ScriptedResourceManager.Fail(command, retryable: false, "undo table missing")
            : ScriptedResourceManager.Succeed(command));
        var failed = await coordinator.Tm.BeginAsync();
        await coordinator.Rm.RegisterGrantedAsync(failed, "db", "t:2");
        await coordinator.Tm.CommitAsync(failed);
        await coordinator.Tm.WaitForStatusAsync(failed, GlobalStatus.CommitFailed);
        Volatile.Write(ref failing, false);
        Assert.Equal(GlobalStatus.CommitRetrying, (await coordinator.Admin.ForceCommitAsync(Intervene(failed, "recreated the undo table"))).Status);
        await coordinator.Tm.WaitForStatusAsync(failed, GlobalStatus.Committed);

        var rolledBack = await coordinator.Tm.BeginAsync();
        await coordinator.Tm.RollbackAsync(rolledBack);
        var error = await Refused(() => coordinator.Admin.ForceCommitAsync(Intervene(rolledBack)).ResponseAsync, StatusCode.FailedPrecondition);
        Assert.Contains("ended", error.Status.Detail);
        var rollingBack = await coordinator.Tm.BeginAsync();
        await coordinator.Rm.RegisterGrantedAsync(rollingBack, "db-without-rm", "t:3");
        Assert.Equal(GlobalStatus.RollbackRetrying, await coordinator.Tm.RollbackAsync(rollingBack));
        error = await Refused(() => coordinator.Admin.ForceCommitAsync(Intervene(rollingBack)).ResponseAsync, StatusCode.FailedPrecondition);
        Assert.Contains("rollback was decided", error.Status.Detail);
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task ForgetBranch_dirty_branch_of_rollback_failed_finishes_the_transaction_and_releases_its_locks(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        await using var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db");
        var xid = await coordinator.Tm.BeginAsync();
        var clean = await coordinator.Rm.RegisterGrantedAsync(xid, "db", "t:1");
        var dirty = await coordinator.Rm.RegisterGrantedAsync(xid, "db", "t:2");
        rm.Script = command => Task.FromResult(command.BranchId == dirty
            ? ScriptedResourceManager.Fail(command, retryable: false, "dirty write")
            : ScriptedResourceManager.Succeed(command));
        Assert.Equal(GlobalStatus.RollbackFailed, await coordinator.Tm.RollbackAsync(xid));

        // The dirty branch is forgotten; the clean one still needs its rollback, which retry then runs.
        var afterForget = (await coordinator.Admin.ForgetBranchAsync(new ForgetBranchRequest { Xid = xid, BranchId = dirty, Reason = "kept the newer row" }, Operator("carol"))).Status;
        Assert.Equal(GlobalStatus.RollbackFailed, afterForget);
        Assert.Equal(1, await coordinator.Admin.LockCountAsync(xid));
        await coordinator.Admin.RetryAsync(Intervene(xid, "roll back the rest"));

        await coordinator.Tm.WaitForStatusAsync(xid, GlobalStatus.Finished);
        Assert.Equal(0, await coordinator.Admin.LockCountAsync());
        Assert.Equal([dirty, clean], rm.Received.Select(c => c.BranchId));
        var details = await coordinator.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid });
        Assert.Contains(details.History, h => h.Actor == "carol" && h.Reason.Contains("kept the newer row"));
        await Refused(() => coordinator.Admin.ForgetBranchAsync(new ForgetBranchRequest { Xid = xid, BranchId = dirty, Reason = "again" }).ResponseAsync, StatusCode.FailedPrecondition);
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task ForgetBranch_last_undone_branch_of_a_stopped_transaction_ends_it_in_finished(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        await using var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db");
        rm.Script = command => Task.FromResult(ScriptedResourceManager.Fail(command, retryable: false, "dirty write"));
        var xid = await coordinator.Tm.BeginAsync();
        var branch = await coordinator.Rm.RegisterGrantedAsync(xid, "db", "t:1");
        Assert.Equal(GlobalStatus.RollbackFailed, await coordinator.Tm.RollbackAsync(xid));

        var status = (await coordinator.Admin.ForgetBranchAsync(new ForgetBranchRequest { Xid = xid, BranchId = branch, Reason = "repaired by hand" })).Status;

        Assert.Equal(GlobalStatus.Finished, status);
        Assert.Equal(0, await coordinator.Admin.LockCountAsync());
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task ForgetBranch_refusals(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        var xid = await coordinator.Tm.BeginAsync();
        var branch = await coordinator.Rm.RegisterGrantedAsync(xid, "db", "t:1");

        var error = await Refused(() => coordinator.Admin.ForgetBranchAsync(new ForgetBranchRequest { Xid = xid, BranchId = branch, Reason = "r" }).ResponseAsync, StatusCode.FailedPrecondition);
        Assert.Contains("still BEGIN", error.Status.Detail);
        await Refused(() => coordinator.Admin.ForgetBranchAsync(new ForgetBranchRequest { Xid = xid, BranchId = 987654, Reason = "r" }).ResponseAsync, StatusCode.NotFound);
        await Refused(() => coordinator.Admin.ForgetBranchAsync(new ForgetBranchRequest { Xid = xid, BranchId = branch }).ResponseAsync, StatusCode.InvalidArgument);
        Assert.Equal(1, await coordinator.Admin.LockCountAsync(xid));
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task GetCoordinatorStatus_counts_transactions_locks_and_names_the_store(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        var a = await coordinator.Tm.BeginAsync();
        await coordinator.Rm.RegisterGrantedAsync(a, "db", "t:1", "t:2");
        await coordinator.Tm.BeginAsync();
        var c = await coordinator.Tm.BeginAsync();
        await coordinator.Tm.CommitAsync(c);

        var status = await coordinator.Admin.GetCoordinatorStatusAsync(new GetCoordinatorStatusRequest());

        Assert.Equal(("tc", store, 2L), (status.CoordinatorId, status.StoreKind, status.LocksHeld));
        Assert.NotEmpty(status.Version);
        Assert.InRange(status.StartedUnixMs, DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        Assert.Equal([(GlobalStatus.Begin, 2L), (GlobalStatus.Committed, 1L)], status.TransactionsByStatus.Select(s => (s.Status, s.Count)));
    }
}

namespace AtProxy.Coordinator.Tests;

/// <summary>Every kind of bad input gets its precise status code and changes nothing.</summary>
public class BadInputTests
{
    private static async Task<RpcException> Refused(Func<Task> call, StatusCode expected)
    {
        var error = await Assert.ThrowsAsync<RpcException>(call);
        Assert.Equal(expected, error.StatusCode);
        Assert.False(string.IsNullOrWhiteSpace(error.Status.Detail));
        return error;
    }

    public static TheoryData<string, string> MalformedXidsWithStores => StoreKinds.With(((IEnumerable<object[]>)MalformedXids).Select(row => (string)row[0]));

    public static TheoryData<string> MalformedXids => new()
    {
        "",
        "tc",
        "tc:",
        ":42",
        "tc:abc",
        "tc:-1",
        "tc:0",
        "tc 1:5",
        "tc:1\n",
        "tç:5",
        new string('a', 126) + ":12",
    };

    [Theory]
    [MemberData(nameof(MalformedXidsWithStores))]
    public async Task Every_call_taking_an_xid_with_a_malformed_xid_is_invalid_argument(string store, string xid)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);

        await Refused(() => coordinator.Tm.CommitAsync(new CommitRequest { Xid = xid }).ResponseAsync, StatusCode.InvalidArgument);
        await Refused(() => coordinator.Tm.RollbackAsync(new RollbackRequest { Xid = xid }).ResponseAsync, StatusCode.InvalidArgument);
        await Refused(() => coordinator.Tm.GetStatusAsync(new GetStatusRequest { Xid = xid }).ResponseAsync, StatusCode.InvalidArgument);
        await Refused(() => coordinator.Rm.RegisterAsync(xid, "db", "t:1"), StatusCode.InvalidArgument);
        await Refused(() => coordinator.Rm.ReportBranchAsync(new ReportBranchRequest { Xid = xid, BranchId = 1, Status = BranchStatus.PhaseOneDone }).ResponseAsync, StatusCode.InvalidArgument);
        if (xid.Length > 0)
        {
            await Refused(() => coordinator.Rm.CheckAsync(xid, "db", "t:1"), StatusCode.InvalidArgument);
        }
        await Refused(() => coordinator.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid }).ResponseAsync, StatusCode.InvalidArgument);
        Assert.Equal(0, await coordinator.Admin.LockCountAsync());
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task Every_call_taking_an_xid_with_an_unknown_xid_is_not_found(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        const string unknown = "tc:123456789";

        await Refused(() => coordinator.Tm.CommitAsync(new CommitRequest { Xid = unknown }).ResponseAsync, StatusCode.NotFound);
        await Refused(() => coordinator.Tm.RollbackAsync(new RollbackRequest { Xid = unknown }).ResponseAsync, StatusCode.NotFound);
        await Refused(() => coordinator.Tm.GetStatusAsync(new GetStatusRequest { Xid = unknown }).ResponseAsync, StatusCode.NotFound);
        await Refused(() => coordinator.Rm.RegisterAsync(unknown, "db", "t:1"), StatusCode.NotFound);
        await Refused(() => coordinator.Rm.ReportBranchAsync(new ReportBranchRequest { Xid = unknown, BranchId = 1, Status = BranchStatus.PhaseOneDone }).ResponseAsync, StatusCode.NotFound);
        Assert.Equal(0, await coordinator.Admin.LockCountAsync());
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task RegisterBranch_empty_or_oversized_keys_or_bad_resource_is_invalid_argument_and_acquires_nothing(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store, configure: s => s["Coordinator:MaxLockKeysPerBranch"] = "1000");
        var xid = await coordinator.Tm.BeginAsync();

        await Refused(() => coordinator.Rm.RegisterAsync(xid, "db"), StatusCode.InvalidArgument);
        var tooMany = await Refused(() => coordinator.Rm.RegisterAsync(xid, "db", [.. Enumerable.Range(0, 1001).Select(i => $"t:{i}")]), StatusCode.InvalidArgument);
        Assert.Contains("1001", tooMany.Status.Detail);
        await Refused(() => coordinator.Rm.RegisterAsync(xid, "", "t:1"), StatusCode.InvalidArgument);
        await Refused(() => coordinator.Rm.RegisterAsync(xid, new string('r', 129), "t:1"), StatusCode.InvalidArgument);
        await Refused(() => coordinator.Rm.RegisterAsync(xid, "db", ":1"), StatusCode.InvalidArgument); // empty table
        await Refused(() => coordinator.Rm.RegisterAsync(xid, "db", $"{new string('t', 257)}:1"), StatusCode.InvalidArgument);
        await Refused(() => coordinator.Rm.RegisterAsync(xid, "db", $"t:{new string('k', 1025)}"), StatusCode.InvalidArgument);
        await Refused(() => coordinator.Rm.RegisterAsync(xid, "db", "t:ok", $"t:{new string('k', 1025)}"), StatusCode.InvalidArgument);

        Assert.Equal(0, await coordinator.Admin.LockCountAsync());
        Assert.Empty((await coordinator.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid })).Transaction.Branches);
        await coordinator.Rm.RegisterGrantedAsync(xid, "db", [.. Enumerable.Range(0, 1000).Select(i => $"t:{i}")]);
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task RegisterBranch_contract_maximum_of_keys_is_accepted(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        var xid = await coordinator.Tm.BeginAsync();

        await coordinator.Rm.RegisterGrantedAsync(xid, "db", [.. Enumerable.Range(0, 100_000).Select(i => $"public.big:{i}")]);
        await Refused(() => coordinator.Rm.RegisterAsync(xid, "db", [.. Enumerable.Range(0, 100_001).Select(i => $"public.big:{i}")]), StatusCode.InvalidArgument);

        Assert.Equal(100_000, (await coordinator.Admin.GetCoordinatorStatusAsync(new GetCoordinatorStatusRequest())).LocksHeld);
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task RegisterBranch_on_a_decided_transaction_is_failed_precondition_and_acquires_nothing(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        var committed = await coordinator.Tm.BeginAsync();
        await coordinator.Tm.CommitAsync(committed);
        var rolledBack = await coordinator.Tm.BeginAsync();
        await coordinator.Tm.RollbackAsync(rolledBack);

        var error = await Refused(() => coordinator.Rm.RegisterAsync(committed, "db", "t:1"), StatusCode.FailedPrecondition);
        Assert.Contains("COMMITTED", error.Status.Detail);
        await Refused(() => coordinator.Rm.RegisterAsync(rolledBack, "db", "t:1"), StatusCode.FailedPrecondition);
        Assert.Equal(0, await coordinator.Admin.LockCountAsync());
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task Begin_timeout_beyond_maximum_or_too_long_names_is_invalid_argument_and_begins_nothing(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store, configure: s => s["Coordinator:MaxTimeoutMs"] = "600000");

        var error = await Refused(() => coordinator.Tm.BeginAsync(new BeginRequest { ApplicationId = "app", TimeoutMs = 600_001 }).ResponseAsync, StatusCode.InvalidArgument);
        Assert.Contains("600000", error.Status.Detail);
        await Refused(() => coordinator.Tm.BeginAsync(new BeginRequest { ApplicationId = "app", TimeoutMs = 86_400_001 }).ResponseAsync, StatusCode.InvalidArgument);
        await Refused(() => coordinator.Tm.BeginAsync(new BeginRequest { ApplicationId = "" }).ResponseAsync, StatusCode.InvalidArgument);
        await Refused(() => coordinator.Tm.BeginAsync(new BeginRequest { ApplicationId = new string('a', 129) }).ResponseAsync, StatusCode.InvalidArgument);
        await Refused(() => coordinator.Tm.BeginAsync(new BeginRequest { ApplicationId = "app", Name = new string('n', 257) }).ResponseAsync, StatusCode.InvalidArgument);

        Assert.Empty((await coordinator.Admin.ListTransactionsAsync(new ListTransactionsRequest())).Transactions);
        Assert.Equal(600_000u, (await coordinator.Tm.BeginAsync(new BeginRequest { ApplicationId = "app", TimeoutMs = 600_000 })).TimeoutMs);
        Assert.Equal(1u, (await coordinator.Tm.BeginAsync(new BeginRequest { ApplicationId = "app", TimeoutMs = 1 })).TimeoutMs);
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task ReportBranch_bad_status_or_unknown_branch_or_not_registered_is_refused(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        var xid = await coordinator.Tm.BeginAsync();
        var branch = await coordinator.Rm.RegisterGrantedAsync(xid, "db", "t:1");

        await Refused(() => coordinator.Rm.ReportBranchAsync(new ReportBranchRequest { Xid = xid, BranchId = branch, Status = BranchStatus.PhaseTwoCommitted }).ResponseAsync, StatusCode.InvalidArgument);
        await Refused(() => coordinator.Rm.ReportBranchAsync(new ReportBranchRequest { Xid = xid, BranchId = branch }).ResponseAsync, StatusCode.InvalidArgument);
        await Refused(() => coordinator.Rm.ReportBranchAsync(new ReportBranchRequest { Xid = xid, BranchId = branch + 100, Status = BranchStatus.PhaseOneDone }).ResponseAsync, StatusCode.NotFound);
        await coordinator.Rm.ReportBranchAsync(new ReportBranchRequest { Xid = xid, BranchId = branch, Status = BranchStatus.PhaseOneDone });
        await Refused(() => coordinator.Rm.ReportBranchAsync(new ReportBranchRequest { Xid = xid, BranchId = branch, Status = BranchStatus.PhaseOneFailed }).ResponseAsync, StatusCode.FailedPrecondition);

        Assert.Equal(1, await coordinator.Admin.LockCountAsync(xid));
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task CheckLocks_empty_keys_or_resource_is_invalid_argument(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);

        await Refused(() => coordinator.Rm.CheckAsync("", "db"), StatusCode.InvalidArgument);
        await Refused(() => coordinator.Rm.CheckAsync("", "", "t:1"), StatusCode.InvalidArgument);
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task RegisterBranch_after_the_timeout_passed_is_failed_precondition(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store, configure: s => s["Coordinator:SweepIntervalMs"] = "60000");
        var xid = await coordinator.Tm.BeginAsync(timeoutMs: 50);
        // Not an assertion: the 50 ms timeout must be over before the registration is asked (twice that, for clock granularity).
        await Task.Delay(100);

        var error = await Refused(() => coordinator.Rm.RegisterAsync(xid, "db", "t:1"), StatusCode.FailedPrecondition);

        // "passed its timeout", or "is TIMEOUT_ROLLBACKING" when the start-up sweep ran late enough to time it out first.
        Assert.Contains("timeout", error.Status.Detail, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0, await coordinator.Admin.LockCountAsync());
    }
}

using AtProxy.Protocol.V1;

namespace AtProxy.Coordinator.Tests.Support;

/// <summary>Short forms of the calls the tests make again and again.</summary>
public static class CoordinatorClientExtensions
{
    public static async Task<string> BeginAsync(this TransactionManager.TransactionManagerClient tm, string name = "test", uint timeoutMs = 30_000, string applicationId = "test-app") =>
        (await tm.BeginAsync(new BeginRequest { ApplicationId = applicationId, Name = name, TimeoutMs = timeoutMs })).Xid;

    public static async Task<RegisterBranchResponse> RegisterAsync(this ResourceManager.ResourceManagerClient rm, string xid, string resourceId, params string[] keys)
    {
        var request = new RegisterBranchRequest { Xid = xid, ResourceId = resourceId, ApplicationId = "test-app" };
        request.LockKeys.Add(keys.Select(Key));
        return await rm.RegisterBranchAsync(request);
    }

    /// <summary>Registers and expects success; returns the branch id.</summary>
    public static async Task<long> RegisterGrantedAsync(this ResourceManager.ResourceManagerClient rm, string xid, string resourceId, params string[] keys)
    {
        var response = await rm.RegisterAsync(xid, resourceId, keys);
        Assert.Null(response.Conflict);
        Assert.True(response.BranchId > 0);
        return response.BranchId;
    }

    /// <summary>"table:pk" → a lock key; a key without a table goes to public.t.</summary>
    public static LockKey Key(string text)
    {
        var colon = text.IndexOf(':');
        return colon < 0
            ? new LockKey { Table = "public.t", PrimaryKey = text }
            : new LockKey { Table = text[..colon], PrimaryKey = text[(colon + 1)..] };
    }

    public static async Task<GlobalStatus> StatusAsync(this TransactionManager.TransactionManagerClient tm, string xid) =>
        (await tm.GetStatusAsync(new GetStatusRequest { Xid = xid })).Status;

    public static Task<GlobalStatus> WaitForStatusAsync(this TransactionManager.TransactionManagerClient tm, string xid, GlobalStatus expected, TimeSpan? timeout = null) =>
        Eventually.EqualAsync(expected, () => tm.StatusAsync(xid), timeout, $"the status of {xid}");

    public static async Task<GlobalStatus> CommitAsync(this TransactionManager.TransactionManagerClient tm, string xid) =>
        (await tm.CommitAsync(new CommitRequest { Xid = xid })).Status;

    public static async Task<GlobalStatus> RollbackAsync(this TransactionManager.TransactionManagerClient tm, string xid) =>
        (await tm.RollbackAsync(new RollbackRequest { Xid = xid }, deadline: DateTime.UtcNow.AddSeconds(20))).Status;

    public static async Task<CheckLocksResponse> CheckAsync(this ResourceManager.ResourceManagerClient rm, string xid, string resourceId, params string[] keys)
    {
        var request = new CheckLocksRequest { Xid = xid, ResourceId = resourceId };
        request.LockKeys.Add(keys.Select(Key));
        return await rm.CheckLocksAsync(request);
    }

    public static async Task<int> LockCountAsync(this Protocol.V1.Admin.AdminClient admin, string xid = "") =>
        (await admin.ListLocksAsync(new ListLocksRequest { Xid = xid, PageSize = 1000 })).Locks.Count;
}

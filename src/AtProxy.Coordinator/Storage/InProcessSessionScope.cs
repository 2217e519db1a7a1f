using AtProxy.Coordinator.Locking;
using AtProxy.Coordinator.Sessions;
using AtProxy.Coordinator.Storage.Records;

namespace AtProxy.Coordinator.Storage;

/// <summary>A transaction of an in-process store, held through its session's gate; each change is durable when its call returns.</summary>
internal sealed class InProcessSessionScope(CoordinatorStoreBase store, GlobalSession session) : ISessionScope
{
    private int _disposed;

    public GlobalSession Session => session;

    public Task<LockConflictInfo?> RegisterBranchAsync(BranchRegistration registration) => store.RegisterBranchAsync(registration);

    public Task AppendAsync(StoreRecord record) => store.AppendAsync(record);

    public Task AppendWithNextAsync(StoreRecord record) => store.AppendWithNextAsync(record);

    // The schedule lives on the session itself; only this process reads it.
    public Task SaveScheduleAsync() => Task.CompletedTask;

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            session.Gate.Release();
        }
        return ValueTask.CompletedTask;
    }
}

using AtProxy.Coordinator.Locking;
using AtProxy.Coordinator.Sessions;
using AtProxy.Coordinator.Storage.Records;

namespace AtProxy.Coordinator.Storage;

/// <summary>
/// One transaction held exclusively: the status checked through <see cref="Session"/> cannot
/// change under the caller in this coordinator, and a change another coordinator sharing the
/// store made meanwhile makes the scope's write fail whole (<see cref="StoreConflictException"/>)
/// rather than be overwritten. Every change made through the scope is durable before the scope
/// is disposed (the embedded store: before each call returns; the PostgreSQL store: in its
/// group commit, on dispose, or at once for a registration).
/// </summary>
internal interface ISessionScope : IAsyncDisposable
{
    /// <summary>The transaction as it is now; changed by the scope's calls.</summary>
    GlobalSession Session { get; }

    /// <summary>
    /// Acquires all of the branch's keys and records the branch, or acquires nothing and
    /// records nothing when another transaction holds one of them.
    /// </summary>
    /// <returns>Null when registered; the conflict otherwise.</returns>
    Task<LockConflictInfo?> RegisterBranchAsync(BranchRegistration registration);

    /// <summary>Records a change of the transaction (status, branch status) and applies it to <see cref="Session"/>.</summary>
    Task AppendAsync(StoreRecord record);

    /// <summary>
    /// Records a change that recovery can do without (it would only repeat an idempotent step) and
    /// applies it to <see cref="Session"/> at once; it becomes durable with the transaction's next
    /// change, which is written after it, without waiting for a flush of its own. A store that writes
    /// a scope's changes together anyway makes no difference.
    /// </summary>
    Task AppendWithNextAsync(StoreRecord record) => AppendAsync(record);

    /// <summary>
    /// Runs <paramref name="action"/> once the changes made through the scope so far are recorded, and
    /// never when they are not (a race lost to another coordinator: nothing was recorded and the call
    /// runs again). For what must count a change once, such as a metric. A store whose appends are
    /// recorded when they return runs it at once.
    /// </summary>
    void WhenRecorded(Action action) => action();

    /// <summary>Makes the phase-2 schedule set on <see cref="Session"/> (next attempt, failures in a row) visible to every instance.</summary>
    Task SaveScheduleAsync();
}

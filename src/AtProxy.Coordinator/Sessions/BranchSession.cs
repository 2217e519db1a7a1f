using AtProxy.Coordinator.Locking;
using AtProxy.Protocol.V1;

namespace AtProxy.Coordinator.Sessions;

/// <summary>
/// One resource's part of a global transaction. Mutated only by the store applying a durable
/// record, under the owning <see cref="GlobalSession"/>'s monitor.
/// </summary>
internal sealed class BranchSession
{
    public BranchSession(long branchId, string resourceId, string applicationId, long registeredUnixMs, LockKeyId[] lockKeys, LockHolder holder)
    {
        BranchId = branchId;
        ResourceId = resourceId;
        ApplicationId = applicationId;
        RegisteredUnixMs = registeredUnixMs;
        LockKeys = lockKeys;
        Holder = holder;
    }

    public long BranchId { get; }

    public string ResourceId { get; }

    public string ApplicationId { get; }

    public long RegisteredUnixMs { get; }

    /// <summary>The identity of the database the branch wrote (empty from older clients); phase 2 must reach the same one.</summary>
    public string ResourceIdentity { get; init; } = "";

    /// <summary>The proxy's id of the registration (empty from older clients): a registration sent again finds this branch by it.</summary>
    public string RequestId { get; init; } = "";

    /// <summary>The branch's keys, distinct, as registered; empty once its transaction ended (see <see cref="ForgetKeys"/>).</summary>
    public LockKeyId[] LockKeys { get; private set; }

    /// <summary>The holder entry the lock table stores for the keys this branch acquired.</summary>
    public LockHolder Holder { get; }

    public BranchStatus Status { get; set; } = BranchStatus.Registered;

    public string LastError { get; set; } = "";

    /// <summary>False once the branch's locks were released (phase 1 failed, forgotten, or the transaction's locks released).</summary>
    public bool LocksHeld { get; set; } = true;

    /// <summary>A person marked the branch done by hand.</summary>
    public bool Forgotten { get; set; }

    /// <summary>
    /// Lets go of the keys of a branch that holds no lock any more and never will: an ended
    /// transaction is kept only to be looked at, and its keys were most of its memory.
    /// </summary>
    public void ForgetKeys()
    {
        if (!LocksHeld)
        {
            LockKeys = [];
        }
    }
}

using AtProxy.Protocol.V1;

namespace AtProxy.Coordinator.Sessions;

/// <summary>
/// One global transaction as the coordinator holds it. Durable fields change only when the
/// store applies a durable record (under this object's monitor); readers lock it to copy a
/// consistent view. Every change of state is made while holding <see cref="Gate"/>, so the
/// check of a status and the transition it allows cannot interleave with another change.
/// </summary>
internal sealed class GlobalSession
{
    private readonly List<BranchSession> _branches = [];
    private readonly List<TransitionEntry> _history = [];

    public GlobalSession(string xid, long sequence, string name, string applicationId, long beginTimeUnixMs, uint timeoutMs)
    {
        Xid = xid;
        Sequence = sequence;
        Name = name;
        ApplicationId = applicationId;
        BeginTimeUnixMs = beginTimeUnixMs;
        TimeoutMs = timeoutMs;
        LastUpdateUnixMs = beginTimeUnixMs;
    }

    public string Xid { get; }

    public long Sequence { get; }

    public string Name { get; }

    public string ApplicationId { get; }

    public long BeginTimeUnixMs { get; }

    public uint TimeoutMs { get; }

    public long DeadlineUnixMs => BeginTimeUnixMs + TimeoutMs;

    public GlobalStatus Status { get; set; } = GlobalStatus.Begin;

    public long LastUpdateUnixMs { get; set; }

    /// <summary>Rolled back because its timeout passed (kept after a later RollbackFailed, to resume the same way).</summary>
    public bool TimedOut { get; set; }

    /// <summary>
    /// When the current run of phase 2 began (Unix ms): the decision, or a person's intervention
    /// that resumed it. The retry budgets (<c>MaxCommitRetryMs</c>, <c>MaxRollbackRetryMs</c>) count
    /// from here. Derived from the durable transitions (see <see cref="SessionMutation.ApplyGlobalStatusChanged"/>).
    /// </summary>
    public long PhaseTwoSinceUnixMs { get; set; }

    /// <summary>Serializes every change of this transaction in an in-process store (status checks and the records they write).</summary>
    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>Phase-2 attempts (since the coordinator started for an in-process store; in total for a shared one).</summary>
    public int Attempts { get; set; }

    /// <summary>Failed phase-2 attempts since the last success or intervention: the back-off grows with it.</summary>
    public int FailuresInARow { get; set; }

    /// <summary>When the background loop should try phase 2 again (Unix ms; 0 = now).</summary>
    public long NextAttemptUnixMs { get; set; }

    /// <summary>Branches in registration order. Callers hold this object's monitor.</summary>
    public List<BranchSession> BranchesUnsafe => _branches;

    /// <summary>Transitions in order. Callers hold this object's monitor.</summary>
    public List<TransitionEntry> HistoryUnsafe => _history;

    public BranchSession[] Branches()
    {
        lock (this)
        {
            return [.. _branches];
        }
    }

    public TransitionEntry[] History()
    {
        lock (this)
        {
            return [.. _history];
        }
    }

    public BranchSession? FindBranch(long branchId)
    {
        lock (this)
        {
            foreach (var branch in _branches)
            {
                if (branch.BranchId == branchId)
                {
                    return branch;
                }
            }
            return null;
        }
    }
}

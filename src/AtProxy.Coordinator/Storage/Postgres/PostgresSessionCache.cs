using AtProxy.Coordinator.Sessions;

namespace AtProxy.Coordinator.Storage.Postgres;

/// <summary>
/// Sessions as this coordinator last wrote them, with the version that write gave them, so the
/// next scope of the same transaction here starts without reading the database. Never trusted
/// alone: a scope's write is still checked against the row's version, and a session another
/// coordinator changed meanwhile is refused and read again (<see cref="PostgresSessionScope"/>). A
/// scope takes its session out for its lifetime and puts it back only after a write committed
/// exactly on the version it read (or with no write), so a cached session is always one the
/// database held at that version. What is put is a copy: a caller that keeps the scope's session
/// after the scope (to answer with the status it saw) never sees a later scope's changes. Ended
/// transactions are not kept; a full cache is emptied. The history is not kept (a scope only adds to it).
/// </summary>
internal sealed class PostgresSessionCache
{
    private const int Capacity = 50_000;

    // ClaimedAt: when a write of this coordinator claimed the transaction's phase 2 (Environment.TickCount64), or null.
    private readonly Dictionary<string, (GlobalSession Session, long Version, long? ClaimedAt)> _sessions = new(StringComparer.Ordinal);

    /// <summary>Takes the transaction's session out of the cache: the caller owns it until it puts it back.</summary>
    public bool TryTake(string xid, out GlobalSession session, out long version)
    {
        lock (_sessions)
        {
            if (_sessions.Remove(xid, out var entry))
            {
                (session, version, _) = entry;
                return true;
            }
        }
        session = null!;
        version = 0;
        return false;
    }

    /// <summary>
    /// A copy of the transaction's session, when a write of this coordinator claimed its phase 2
    /// less than <paramref name="within"/> ago (well inside the lease), for the attempt that
    /// follows. Once: the claim is the attempt's from then on (renewed, released).
    /// </summary>
    public bool TryTakeClaim(string xid, TimeSpan within, out GlobalSession session)
    {
        lock (_sessions)
        {
            if (_sessions.TryGetValue(xid, out var entry) && entry.ClaimedAt is { } claimedAt
                && Environment.TickCount64 - claimedAt < within.TotalMilliseconds)
            {
                _sessions[xid] = entry with { ClaimedAt = null };
                session = Copy(entry.Session);
                return true;
            }
        }
        session = null!;
        return false;
    }

    /// <summary>
    /// Keeps <paramref name="session"/> as the database holds it at <paramref name="version"/>;
    /// <paramref name="claimedHere"/> when the write that made it so claimed its phase 2 for this coordinator.
    /// </summary>
    public void Put(GlobalSession session, long version, bool claimedHere = false)
    {
        if (GlobalStatusRules.IsEnded(session.Status))
        {
            return; // nothing more is asked of it: the next look may as well read it
        }
        lock (_sessions)
        {
            if (_sessions.Count >= Capacity)
            {
                _sessions.Clear();
            }
            _sessions[session.Xid] = (Copy(session), version, claimedHere ? Environment.TickCount64 : null);
        }
    }

    private static GlobalSession Copy(GlobalSession session)
    {
        lock (session)
        {
            var copy = new GlobalSession(session.Xid, session.Sequence, session.Name, session.ApplicationId, session.BeginTimeUnixMs, session.TimeoutMs)
            {
                Status = session.Status,
                LastUpdateUnixMs = session.LastUpdateUnixMs,
                TimedOut = session.TimedOut,
                Attempts = session.Attempts,
                FailuresInARow = session.FailuresInARow,
                NextAttemptUnixMs = session.NextAttemptUnixMs,
                PhaseTwoSinceUnixMs = session.PhaseTwoSinceUnixMs,
            };
            foreach (var branch in session.BranchesUnsafe)
            {
                copy.BranchesUnsafe.Add(new BranchSession(branch.BranchId, branch.ResourceId, branch.ApplicationId, branch.RegisteredUnixMs, branch.LockKeys, branch.Holder)
                {
                    ResourceIdentity = branch.ResourceIdentity,
                    RequestId = branch.RequestId,
                    Status = branch.Status,
                    LastError = branch.LastError,
                    LocksHeld = branch.LocksHeld,
                    Forgotten = branch.Forgotten,
                });
            }
            return copy;
        }
    }
}

using AtProxy.Coordinator.Locking;
using AtProxy.Coordinator.Sessions;
using AtProxy.Coordinator.Storage.Records;
using AtProxy.Protocol.V1;
using Npgsql;

namespace AtProxy.Coordinator.Storage.Postgres;

/// <summary>The column lists the store selects and how their rows become sessions, branches, history and locks.</summary>
internal static class PostgresRows
{
    public const string GlobalColumns =
        "xid, sequence, name, application_id, begin_time_unix_ms, timeout_ms, status, last_update_unix_ms, timed_out, attempts, failures_in_a_row, next_attempt_unix_ms, phase_two_since_unix_ms";

    /// <summary>How many columns <see cref="GlobalColumns"/> has: a column selected after them is at this index.</summary>
    public static readonly int GlobalColumnCount = GlobalColumns.Split(',').Length;

    public const string BranchColumns =
        "xid, branch_id, resource_id, application_id, registered_unix_ms, status, last_error, locks_held, forgotten, registration";

    public const string TransitionColumns = "xid, at_unix_ms, from_status, to_status, reason, actor";

    public const string LockColumns = "resource_id, table_name, primary_key, xid, branch_id, application_id, acquired_unix_ms";

    public static GlobalSession ReadGlobal(NpgsqlDataReader reader) =>
        new(reader.GetString(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4), (uint)reader.GetInt64(5))
        {
            Status = (GlobalStatus)reader.GetInt32(6),
            LastUpdateUnixMs = reader.GetInt64(7),
            TimedOut = reader.GetBoolean(8),
            Attempts = reader.GetInt32(9),
            FailuresInARow = reader.GetInt32(10),
            NextAttemptUnixMs = reader.GetInt64(11),
            PhaseTwoSinceUnixMs = reader.GetInt64(12),
        };

    /// <summary>Reads a session row (none: null), then moves to the next result and reads its branch rows.</summary>
    public static async Task<GlobalSession?> ReadSessionAsync(NpgsqlDataReader reader, CancellationToken cancellationToken = default)
    {
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }
        var session = ReadGlobal(reader);
        await reader.NextResultAsync(cancellationToken);
        await ReadBranchesAsync(reader, _ => session, cancellationToken);
        return session;
    }

    /// <summary>
    /// Reads branch rows (in branch order) into their sessions, read before them: a row's status and
    /// lock flag are taken as its session's status implies (<see cref="PostgresImpliedBranchValues"/>).
    /// </summary>
    public static async Task ReadBranchesAsync(NpgsqlDataReader reader, Func<string, GlobalSession?> sessionOf, CancellationToken cancellationToken = default)
    {
        while (await reader.ReadAsync(cancellationToken))
        {
            if (sessionOf(reader.GetString(0)) is not { } session)
            {
                continue;
            }
            var registered = BranchRegistered.Parser.ParseFrom(reader.GetFieldValue<byte[]>(9));
            var branch = SessionMutation.AddBranch(session, registered, CoordinatorState.ToKeys(registered), CoordinatorState.HolderOf(registered));
            var row = new BranchValues(branch.BranchId, (BranchStatus)reader.GetInt32(5), reader.GetString(6), reader.GetBoolean(7), reader.GetBoolean(8));
            var values = PostgresImpliedBranchValues.Apply(row, session.Status);
            branch.Status = values.Status;
            branch.LastError = values.LastError;
            branch.LocksHeld = values.LocksHeld;
            branch.Forgotten = values.Forgotten;
        }
    }

    public static async Task ReadTransitionsAsync(NpgsqlDataReader reader, GlobalSession session)
    {
        while (await reader.ReadAsync())
        {
            session.HistoryUnsafe.Add(new TransitionEntry(reader.GetInt64(1), (GlobalStatus)reader.GetInt32(2), (GlobalStatus)reader.GetInt32(3), reader.GetString(4), reader.GetString(5)));
        }
    }

    public static async Task<List<KeyValuePair<LockKeyId, LockHolder>>> ReadLocksAsync(NpgsqlDataReader reader)
    {
        var locks = new List<KeyValuePair<LockKeyId, LockHolder>>();
        while (await reader.ReadAsync())
        {
            locks.Add(new(new LockKeyId(reader.GetString(0), reader.GetString(1), reader.GetString(2)),
                new LockHolder(reader.GetString(3), reader.GetInt64(4), reader.GetString(5), reader.GetInt64(6))));
        }
        return locks;
    }
}

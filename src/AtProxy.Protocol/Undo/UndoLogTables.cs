namespace AtProxy.Protocol.Undo;

/// <summary>
/// The names of the tables AtProxy keeps in a resource database, next to each other in the undo-log
/// schema: <see cref="UndoLog"/> with its columns, and <see cref="ResourceIdentity"/>. The proxy
/// creates and writes them; the CLI and the demo read them by these names.
/// </summary>
public static class UndoLogTables
{
    /// <summary>The undo log: one row per branch, unique on (<see cref="Columns.Xid"/>, <see cref="Columns.BranchId"/>).</summary>
    public const string UndoLog = "atproxy_undo_log";

    /// <summary>The resource database's identity: one row with a uuid created on first use.</summary>
    public const string ResourceIdentity = "atproxy_resource_identity";

    /// <summary>The unique constraint on (xid, branch_id): an insert that violates it met a rollback's marker.</summary>
    public const string BranchKeyConstraint = "atproxy_undo_log_xid_branch_key";

    /// <summary>The index on <see cref="Columns.LogCreated"/>, which the purge scans.</summary>
    public const string CreatedIndex = "atproxy_undo_log_created_idx";

    /// <summary>The partial index on <see cref="Columns.LogModified"/> of the rows marked <see cref="UndoLogStatus.Committed"/>.</summary>
    public const string CommittedIndex = "atproxy_undo_log_committed_idx";

    /// <summary>The <see cref="Columns.Context"/> of a <see cref="UndoLogStatus.GlobalFinished"/> marker, whose rollback info is empty.</summary>
    public const string MarkerContext = "marker";

    /// <summary>The undo log's name qualified by <paramref name="schema"/> (quoted), or left to the search path when null.</summary>
    public static string QualifiedUndoLog(string? schema) => PostgresIdentifier.Qualify(schema, UndoLog);

    /// <summary>The resource identity table's name qualified by <paramref name="schema"/> (quoted), or left to the search path when null.</summary>
    public static string QualifiedResourceIdentity(string? schema) => PostgresIdentifier.Qualify(schema, ResourceIdentity);

    /// <summary>The columns of <see cref="UndoLog"/>.</summary>
    public static class Columns
    {
        /// <summary><c>bigint</c>: the branch id the coordinator gave the branch.</summary>
        public const string BranchId = "branch_id";

        /// <summary><c>varchar(128)</c>: the XID of the branch's global transaction.</summary>
        public const string Xid = "xid";

        /// <summary><c>varchar(128)</c>: how <see cref="RollbackInfo"/> was written (see <see cref="UndoLogCodec"/>).</summary>
        public const string Context = "context";

        /// <summary><c>bytea</c>: the encoded undo records (see <see cref="UndoLogCodec"/>); empty for a marker.</summary>
        public const string RollbackInfo = "rollback_info";

        /// <summary><c>integer</c>: the row's <see cref="UndoLogStatus"/>.</summary>
        public const string LogStatus = "log_status";

        /// <summary><c>timestamptz</c>: when the row was written, by the database's clock.</summary>
        public const string LogCreated = "log_created";

        /// <summary><c>timestamptz</c>: when the row's status last changed, by the database's clock.</summary>
        public const string LogModified = "log_modified";
    }
}

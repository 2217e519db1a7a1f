namespace AtProxy.Coordinator.Storage.Postgres;

/// <summary>
/// The statements that grant and release global locks. With the grant audit on
/// (<c>Coordinator:StoreLockAudit</c>), each also writes its entry in <c>lock_grant</c> (every
/// grant and its release, stamped by the database clock inside the granting and releasing
/// transactions) in the same statement: the audit shows that no key was held by two transactions
/// at once. Off (the default), the statements touch <c>global_lock</c> alone: the audit doubles
/// every lock write and needs a purge of its own, and nothing in the coordinator reads it; the
/// primary key of <c>global_lock</c> is what makes a double grant impossible either way.
/// </summary>
internal sealed class PostgresLockStatements(string schema, bool audited)
{
    private const string LockColumns = "resource_id, table_name, primary_key, xid, branch_id, application_id, acquired_unix_ms";

    /// <summary>True when grants and releases are written to <c>lock_grant</c> too.</summary>
    public bool Audited => audited;

    /// <summary>
    /// Inserts the keys of <c>$1..$7</c> (resource, table, key, XID, branch, application, acquired)
    /// in one order for every writer; a key held already (by anyone) is left alone. Granted keys are audited.
    /// </summary>
    public string Acquire()
    {
        var insert = $"""
            INSERT INTO {schema}.global_lock ({LockColumns})
            SELECT r, t, p, x, b, a, at
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::bigint[]) AS k(r, t, p, x, b, a, at)
            ORDER BY r, t, p
            ON CONFLICT DO NOTHING
            """;
        return audited
            ? $"""
                WITH granted AS ({insert}
                    RETURNING grant_id, resource_id, table_name, primary_key, xid, branch_id)
                INSERT INTO {schema}.lock_grant (grant_id, resource_id, table_name, primary_key, xid, branch_id, granted_at)
                SELECT grant_id, resource_id, table_name, primary_key, xid, branch_id, clock_timestamp() FROM granted
                """
            : insert;
    }

    /// <summary>Releases every key the rows matched by <paramref name="where"/> (over <c>global_lock l</c>) hold, and audits the release.</summary>
    public string Release(string where) => audited
        ? $"""
            WITH released AS (DELETE FROM {schema}.global_lock l {where} RETURNING l.grant_id)
            UPDATE {schema}.lock_grant SET released_at = clock_timestamp() WHERE grant_id = ANY (ARRAY(SELECT grant_id FROM released))
            """
        : $"DELETE FROM {schema}.global_lock l {where}";

    /// <summary>Takes back keys granted in this transaction that are not kept after all: never granted, so not audited either.</summary>
    public string Withdraw(string where) => audited
        ? $"""
            WITH withdrawn AS (DELETE FROM {schema}.global_lock l {where} RETURNING l.grant_id)
            DELETE FROM {schema}.lock_grant WHERE grant_id = ANY (ARRAY(SELECT grant_id FROM withdrawn))
            """
        : $"DELETE FROM {schema}.global_lock l {where}";

    /// <summary>Deletes the audit's entries of keys released before <c>$1</c> (Unix ms); null when there is no audit to purge.</summary>
    public string? PurgeReleased() => audited
        ? $"DELETE FROM {schema}.lock_grant WHERE released_at < to_timestamp($1 / 1000.0)"
        : null;
}

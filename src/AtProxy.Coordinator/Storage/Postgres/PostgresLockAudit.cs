namespace AtProxy.Coordinator.Storage.Postgres;

/// <summary>
/// The statements that grant and release global locks, each with its entry in the grant audit
/// (<c>lock_grant</c>: every grant and its release, stamped by the database clock inside the
/// granting and releasing transactions) in the same statement: the audit shows that no key was
/// held by two transactions at once, and costs one index look per key.
/// </summary>
internal static class PostgresLockAudit
{
    private const string LockColumns = "resource_id, table_name, primary_key, xid, branch_id, application_id, acquired_unix_ms";

    /// <summary>
    /// Inserts the keys of <c>$1..$7</c> (resource, table, key, XID, branch, application, acquired)
    /// in one order for every writer; a key held already (by anyone) is left alone. Granted keys are audited.
    /// </summary>
    public static string Acquire(string schema) => $"""
        WITH granted AS (
            INSERT INTO {schema}.global_lock ({LockColumns})
            SELECT r, t, p, x, b, a, at
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::bigint[]) AS k(r, t, p, x, b, a, at)
            ORDER BY r, t, p
            ON CONFLICT DO NOTHING
            RETURNING grant_id, resource_id, table_name, primary_key, xid, branch_id)
        INSERT INTO {schema}.lock_grant (grant_id, resource_id, table_name, primary_key, xid, branch_id, granted_at)
        SELECT grant_id, resource_id, table_name, primary_key, xid, branch_id, clock_timestamp() FROM granted
        """;

    /// <summary>Releases every key the rows matched by <paramref name="where"/> (over <c>global_lock l</c>) hold, and audits the release.</summary>
    public static string Release(string schema, string where) => $"""
        WITH released AS (DELETE FROM {schema}.global_lock l {where} RETURNING l.grant_id)
        UPDATE {schema}.lock_grant SET released_at = clock_timestamp() WHERE grant_id = ANY (ARRAY(SELECT grant_id FROM released))
        """;

    /// <summary>Takes back keys granted in this transaction that are not kept after all: never granted, so not audited either.</summary>
    public static string Withdraw(string schema, string where) => $"""
        WITH withdrawn AS (DELETE FROM {schema}.global_lock l {where} RETURNING l.grant_id)
        DELETE FROM {schema}.lock_grant WHERE grant_id = ANY (ARRAY(SELECT grant_id FROM withdrawn))
        """;
}

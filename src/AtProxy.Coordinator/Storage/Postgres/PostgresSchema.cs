using System.Globalization;
using AtProxy.Coordinator.Sessions;
using AtProxy.Protocol.V1;
using Npgsql;

namespace AtProxy.Coordinator.Storage.Postgres;

/// <summary>
/// The PostgreSQL store's tables, versioned in <c>schema_version</c>. On start the schema is
/// created or migrated to <see cref="CurrentVersion"/> under an advisory lock (so coordinators
/// starting together do it once); a database whose schema is newer than this coordinator knows
/// is refused, since an older coordinator could misread it.
/// </summary>
internal static class PostgresSchema
{
    /// <summary>The schema version this coordinator writes and reads.</summary>
    public const int CurrentVersion = 4;

    // Any constant, the same for every coordinator: serializes migrations.
    private const long MigrationLockId = 0x4154_5058_5443_0001;

    /// <summary>Creates or migrates the schema; throws <see cref="InvalidOperationException"/> for a newer one.</summary>
    public static async Task MigrateAsync(NpgsqlDataSource dataSource, string schema, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // A PostgreSQL-compatible database without advisory locks migrates unserialized: start one coordinator first on a new schema.
        await using (var hasAdvisoryLocks = new NpgsqlCommand("SELECT to_regprocedure('pg_advisory_xact_lock(bigint)') IS NOT NULL", connection, transaction))
        {
            if ((bool)(await hasAdvisoryLocks.ExecuteScalarAsync(cancellationToken))!)
            {
                await ExecuteAsync(connection, transaction, $"SELECT pg_advisory_xact_lock({MigrationLockId.ToString(CultureInfo.InvariantCulture)})", cancellationToken);
            }
        }
        await ExecuteAsync(connection, transaction, $"""
            CREATE SCHEMA IF NOT EXISTS {schema};
            CREATE TABLE IF NOT EXISTS {schema}.schema_version (
                version integer PRIMARY KEY,
                applied_at timestamptz NOT NULL DEFAULT now())
            """, cancellationToken);
        int version;
        await using (var read = new NpgsqlCommand($"SELECT coalesce(max(version), 0) FROM {schema}.schema_version", connection, transaction))
        {
            version = (int)(await read.ExecuteScalarAsync(cancellationToken))!;
        }
        if (version > CurrentVersion)
        {
            throw new InvalidOperationException(
                $"The coordinator store schema '{schema}' is at version {version}, newer than this coordinator's {CurrentVersion}. " +
                "Upgrade this coordinator (a newer one wrote the store); it will not run on a schema it does not know.");
        }
        if (version < 1)
        {
            await ExecuteAsync(connection, transaction, Version1(schema), cancellationToken);
            await ExecuteAsync(connection, transaction, $"INSERT INTO {schema}.schema_version (version) VALUES (1)", cancellationToken);
        }
        if (version < 2)
        {
            await ExecuteAsync(connection, transaction, Version2(schema), cancellationToken);
            await ExecuteAsync(connection, transaction, $"INSERT INTO {schema}.schema_version (version) VALUES (2)", cancellationToken);
        }
        if (version < 3)
        {
            await ExecuteAsync(connection, transaction, Version3(schema), cancellationToken);
            await ExecuteAsync(connection, transaction, $"INSERT INTO {schema}.schema_version (version) VALUES (3)", cancellationToken);
        }
        if (version < 4)
        {
            await ExecuteAsync(connection, transaction, Version4(schema), cancellationToken);
            await ExecuteIfSupportedAsync(connection, transaction, Version4Storage(schema), cancellationToken);
            await ExecuteAsync(connection, transaction, $"INSERT INTO {schema}.schema_version (version) VALUES (4)", cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    // A storage setting a PostgreSQL-compatible database may refuse: the schema works without it.
    private static async Task ExecuteIfSupportedAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await transaction.SaveAsync("optional", cancellationToken);
        try
        {
            await ExecuteAsync(connection, transaction, sql, cancellationToken);
            await transaction.ReleaseAsync("optional", cancellationToken);
        }
        catch (PostgresException)
        {
            await transaction.RollbackAsync("optional", cancellationToken);
        }
    }

    /// <summary>The status numbers of a set, for SQL text (partial indexes need literals).</summary>
    public static string StatusList(Func<GlobalStatus, bool> rule) =>
        string.Join(", ", Enum.GetValues<GlobalStatus>().Where(rule).Select(s => ((int)s).ToString(CultureInfo.InvariantCulture)));

    // Version 4: branch and history rows go with their session by the purge's own statement
    // (PostgresCoordinatorStore.PurgeEndedAsync), not by foreign keys: the key's check on every
    // branch and history insert, and its cascade row by row on every purged session, cost more than
    // writing the rows. Every insert of either is made under its session's row lock, in the batch
    // that found the session there (PostgresWriter), and an ended session gets neither.
    private static string Version4(string s) => $"""
        ALTER TABLE {s}.branch_session DROP CONSTRAINT branch_session_xid_fkey;
        ALTER TABLE {s}.transition DROP CONSTRAINT transition_xid_fkey;
        """;

    // Version 4, where the database has the setting: room on each session page for a row's next
    // version. A registration changes no indexed column of its session row (its version only), so
    // the update can stay on the page (HOT) instead of adding an entry to every index.
    private static string Version4Storage(string s) => $"ALTER TABLE {s}.global_session SET (fillfactor = 75)";

    // Version 3: the intervention audit. Not tied to global_session (no foreign key): an entry
    // outlives its transaction's purge and goes only by its own retention (at_unix_ms).
    private static string Version3(string s) => $"""
        CREATE TABLE {s}.intervention (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at_unix_ms bigint NOT NULL,
            actor text NOT NULL,
            action text NOT NULL,
            xid text NOT NULL,
            branch_id bigint NOT NULL,
            reason text NOT NULL,
            status_before integer NOT NULL,
            status_after integer NOT NULL,
            coordinator_id text NOT NULL);
        CREATE INDEX intervention_xid ON {s}.intervention (xid, id);
        CREATE INDEX intervention_at ON {s}.intervention (at_unix_ms);
        """;

    // Version 2:
    // - The retry budget's start (GlobalSession.PhaseTwoSinceUnixMs); a transaction already in phase 2
    //   or stopped counts from its last update.
    // - A version per session row: a coordinator writes its change only if the row is still as it read
    //   it, instead of holding the row locked while it decides (see PostgresSessionScope). The grant
    //   audit is written by the statements that grant and release (one per batch, see PostgresWriter
    //   and PostgresLockStatements) instead of by triggers, whose join over the transition table cost more
    //   than the rest of the batch.
    private static string Version2(string s) => $"""
        ALTER TABLE {s}.global_session ADD COLUMN phase_two_since_unix_ms bigint NOT NULL DEFAULT 0;
        UPDATE {s}.global_session SET phase_two_since_unix_ms = last_update_unix_ms
            WHERE status IN ({StatusList(st => GlobalStatusRules.IsPhaseTwoInProgress(st) || GlobalStatusRules.IsStopped(st))});
        ALTER TABLE {s}.global_session ADD COLUMN version bigint NOT NULL DEFAULT 0;
        DROP TRIGGER global_lock_granted ON {s}.global_lock;
        DROP TRIGGER global_lock_released ON {s}.global_lock;
        DROP FUNCTION {s}.record_lock_grants();
        DROP FUNCTION {s}.record_lock_releases();
        """;

    private static string Version1(string s) => $"""
        -- Ids are handed out in blocks of 100 per coordinator: one round trip per 100 transactions.
        CREATE SEQUENCE {s}.transaction_seq INCREMENT BY 100;
        CREATE SEQUENCE {s}.branch_seq INCREMENT BY 100;
        CREATE SEQUENCE {s}.lock_grant_seq;

        CREATE TABLE {s}.global_session (
            xid text PRIMARY KEY,
            sequence bigint NOT NULL,
            name text NOT NULL,
            application_id text NOT NULL,
            begin_time_unix_ms bigint NOT NULL,
            timeout_ms bigint NOT NULL,
            status integer NOT NULL,
            last_update_unix_ms bigint NOT NULL,
            timed_out boolean NOT NULL DEFAULT false,
            attempts integer NOT NULL DEFAULT 0,
            failures_in_a_row integer NOT NULL DEFAULT 0,
            next_attempt_unix_ms bigint NOT NULL DEFAULT 0,
            -- The coordinator driving phase 2 now, and until when (database clock) its claim holds.
            claim_owner text,
            claim_expires_unix_ms bigint);
        CREATE INDEX global_session_sequence ON {s}.global_session (sequence);
        CREATE INDEX global_session_deadline ON {s}.global_session ((begin_time_unix_ms + timeout_ms))
            WHERE status = {(int)GlobalStatus.Begin};
        CREATE INDEX global_session_phase_two ON {s}.global_session (next_attempt_unix_ms)
            WHERE status IN ({StatusList(GlobalStatusRules.IsPhaseTwoInProgress)});
        CREATE INDEX global_session_ended ON {s}.global_session (last_update_unix_ms)
            WHERE status IN ({StatusList(GlobalStatusRules.IsEnded)});

        CREATE TABLE {s}.branch_session (
            xid text NOT NULL REFERENCES {s}.global_session (xid) ON DELETE CASCADE,
            branch_id bigint NOT NULL,
            resource_id text NOT NULL,
            application_id text NOT NULL,
            registered_unix_ms bigint NOT NULL,
            status integer NOT NULL,
            last_error text NOT NULL DEFAULT '',
            locks_held boolean NOT NULL,
            forgotten boolean NOT NULL DEFAULT false,
            -- The branch's registration record (protobuf), keys included.
            registration bytea NOT NULL,
            PRIMARY KEY (xid, branch_id));
        CREATE INDEX branch_session_resource ON {s}.branch_session (resource_id);

        CREATE TABLE {s}.transition (
            xid text NOT NULL REFERENCES {s}.global_session (xid) ON DELETE CASCADE,
            id bigint GENERATED ALWAYS AS IDENTITY,
            at_unix_ms bigint NOT NULL,
            from_status integer NOT NULL,
            to_status integer NOT NULL,
            reason text NOT NULL,
            actor text NOT NULL,
            PRIMARY KEY (xid, id));

        -- One row per held key: the primary key makes two grants of one key impossible.
        CREATE TABLE {s}.global_lock (
            resource_id text NOT NULL,
            table_name text NOT NULL,
            primary_key text NOT NULL,
            xid text NOT NULL,
            branch_id bigint NOT NULL,
            application_id text NOT NULL,
            acquired_unix_ms bigint NOT NULL,
            grant_id bigint NOT NULL DEFAULT nextval('{s}.lock_grant_seq'),
            PRIMARY KEY (resource_id, table_name, primary_key));
        CREATE INDEX global_lock_xid ON {s}.global_lock (xid);
        CREATE INDEX global_lock_acquired ON {s}.global_lock (acquired_unix_ms, branch_id);

        -- Every grant and its release, stamped by the database clock inside the granting and
        -- releasing transactions: an audit trail that shows no key was held by two transactions at once.
        CREATE TABLE {s}.lock_grant (
            grant_id bigint PRIMARY KEY,
            resource_id text NOT NULL,
            table_name text NOT NULL,
            primary_key text NOT NULL,
            xid text NOT NULL,
            branch_id bigint NOT NULL,
            granted_at timestamptz NOT NULL,
            released_at timestamptz);
        CREATE INDEX lock_grant_released ON {s}.lock_grant (released_at);

        CREATE FUNCTION {s}.record_lock_grants() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO {s}.lock_grant (grant_id, resource_id, table_name, primary_key, xid, branch_id, granted_at)
            SELECT grant_id, resource_id, table_name, primary_key, xid, branch_id, clock_timestamp() FROM granted;
            RETURN NULL;
        END $$;
        CREATE FUNCTION {s}.record_lock_releases() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE {s}.lock_grant g SET released_at = clock_timestamp() FROM released r WHERE g.grant_id = r.grant_id;
            RETURN NULL;
        END $$;
        CREATE TRIGGER global_lock_granted AFTER INSERT ON {s}.global_lock
            REFERENCING NEW TABLE AS granted FOR EACH STATEMENT EXECUTE FUNCTION {s}.record_lock_grants();
        CREATE TRIGGER global_lock_released AFTER DELETE ON {s}.global_lock
            REFERENCING OLD TABLE AS released FOR EACH STATEMENT EXECUTE FUNCTION {s}.record_lock_releases();
        """;
}

using AtProxy.Protocol.V1;
using Dapper;
using AtProxy.Testing;
using Npgsql;

namespace AtProxy.IntegrationTests;

/// <summary>
/// Triggers fire on the rollback's own writes and may rewrite a restored row (a version counter, an
/// updated_at column); AFTER triggers may write a row again after the statement returned it. A
/// rollback either restores every row exactly or stops for a person; it never reports done with a
/// row that differs from its before image.
/// </summary>
public class TriggerTests(OrderInventoryEnvironment env) : IClassFixture<OrderInventoryEnvironment>, IAsyncLifetime
{
    private readonly string _role = "atproxy_app_" + Guid.NewGuid().ToString("N")[..8];

    public async Task InitializeAsync()
    {
        // The undo log exists before the service's own role is granted its rows.
        await env.Orders.Resource.EnsureUndoLogAsync(CancellationToken.None);
        await using var connection = new NpgsqlConnection(env.OrdersConnectionString);
        await connection.ExecuteAsync($"""
            CREATE TABLE IF NOT EXISTS versioned (id int PRIMARY KEY, name text NOT NULL, balance int NOT NULL DEFAULT 0,
                version int NOT NULL DEFAULT 1, created_at timestamptz NOT NULL DEFAULT '2000-01-01', updated_at timestamptz NOT NULL DEFAULT '2000-01-01');
            CREATE OR REPLACE FUNCTION bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN NEW.version := OLD.version + 1; NEW.updated_at := clock_timestamp(); RETURN NEW; END $$;
            CREATE OR REPLACE FUNCTION stamp_created() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN NEW.created_at := clock_timestamp(); RETURN NEW; END $$;
            DROP TRIGGER IF EXISTS bump_version ON versioned;
            CREATE TRIGGER bump_version BEFORE UPDATE ON versioned FOR EACH ROW EXECUTE FUNCTION bump_version();
            DROP TRIGGER IF EXISTS stamp_created ON versioned;
            CREATE TRIGGER stamp_created BEFORE INSERT ON versioned FOR EACH ROW EXECUTE FUNCTION stamp_created();

            CREATE TABLE IF NOT EXISTS touched (id int PRIMARY KEY, v int NOT NULL, touches int NOT NULL DEFAULT 0);
            CREATE OR REPLACE FUNCTION count_touch() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF pg_trigger_depth() = 1 THEN UPDATE touched SET touches = touches + 1 WHERE id = NEW.id; END IF;
                RETURN NULL;
            END $$;
            DROP TRIGGER IF EXISTS count_touch ON touched;
            CREATE TRIGGER count_touch AFTER INSERT OR UPDATE ON touched FOR EACH ROW EXECUTE FUNCTION count_touch();

            CREATE ROLE {_role} LOGIN PASSWORD 'app';
            GRANT ALL ON ALL TABLES IN SCHEMA public TO {_role};
            """);
    }

    public async Task DisposeAsync()
    {
        await using var connection = new NpgsqlConnection(env.OrdersConnectionString);
        await connection.ExecuteAsync($"DROP OWNED BY {_role}; DROP ROLE {_role}");
    }

    [Fact]
    public async Task A_before_update_trigger_that_rewrites_restored_rows_is_suppressed_and_every_row_comes_back_exactly()
    {
        await SeedVersionedAsync([1, 2, 3]);
        await using (var plain = new NpgsqlConnection(env.OrdersConnectionString))
        {
            await plain.ExecuteAsync("DELETE FROM versioned WHERE id = 4");
        }
        var before = await SnapshotAsync("versioned", 1, 2, 3, 4);

        await using (var gtx = await env.Client.BeginAsync("trigger-update", TimeSpan.FromSeconds(60)))
        {
            await using var connection = await env.Orders.OpenConnectionAsync();
            await connection.ExecuteAsync("UPDATE versioned SET name = name || '!', balance = balance + 5 WHERE id IN (1, 2)");
            await connection.ExecuteAsync("DELETE FROM versioned WHERE id = 3");
            await connection.ExecuteAsync("INSERT INTO versioned (id, name) VALUES (4, 'new')");
            await RollbackExpectingSuccessAsync(gtx);
        }

        Assert.Equal(before, await SnapshotAsync("versioned", 1, 2, 3, 4));
        Assert.Empty(await env.LocksAsync());
    }

    [Fact]
    public async Task Without_the_privilege_to_suppress_triggers_the_rollback_stops_naming_the_trigger_and_resumes_once_granted()
    {
        await SeedVersionedAsync([10]);
        var before = await SnapshotAsync("versioned", 10);
        var restricted = new NpgsqlConnectionStringBuilder(env.OrdersConnectionString) { Username = _role, Password = "app" }.ConnectionString;
        await using var source = env.Client.Wrap(NpgsqlDataSource.Create(restricted), "orders-restricted");

        await using var gtx = await env.Client.BeginAsync("trigger-no-privilege", TimeSpan.FromSeconds(60));
        await using (var connection = await source.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE versioned SET balance = 99 WHERE id = 10");
        }
        var phaseOne = await SnapshotAsync("versioned", 10);

        try
        {
            await gtx.RollbackAsync();
        }
        catch (GlobalTransactionException failure)
        {
            Assert.Equal(GlobalTransactionStatus.RollbackFailed, failure.Status);
        }
        // The new resource's manager may subscribe just after the decision; the coordinator retries until it does.
        await WaitForStatusAsync(gtx.Xid, GlobalStatus.RollbackFailed);
        var branch = Assert.Single((await env.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = gtx.Xid })).Transaction.Branches);
        Assert.Equal(BranchStatus.PhaseTwoRollbackFailedUnretryable, branch.Status);
        Assert.Contains("restore not exact", branch.LastError, StringComparison.Ordinal);
        Assert.Contains("bump_version (BEFORE UPDATE)", branch.LastError, StringComparison.Ordinal);
        Assert.Contains("session_replication_role", branch.LastError, StringComparison.Ordinal);
        // Nothing was changed: the row is as phase 1 left it, and its lock is still held.
        Assert.Equal(phaseOne, await SnapshotAsync("versioned", 10));
        Assert.Contains(await env.LocksAsync(gtx.Xid), l => l.Key.Table == "public.versioned" && l.Key.PrimaryKey == "10");

        await using (var admin = new NpgsqlConnection(env.OrdersConnectionString))
        {
            await admin.ExecuteAsync($"GRANT SET ON PARAMETER session_replication_role TO {_role}");
        }
        await env.Admin.RetryAsync(new InterveneRequest { Xid = gtx.Xid, Reason = "granted session_replication_role to the service's role" });
        await WaitForStatusAsync(gtx.Xid, GlobalStatus.Rollbacked);
        Assert.Equal(before, await SnapshotAsync("versioned", 10));
    }

    [Fact]
    public async Task An_after_trigger_that_writes_the_row_again_in_phase_one_is_in_the_after_image_and_the_rollback_restores_exactly()
    {
        await using (var plain = new NpgsqlConnection(env.OrdersConnectionString))
        {
            await plain.ExecuteAsync("DELETE FROM touched; INSERT INTO touched (id, v) VALUES (1, 10), (2, 20)");
        }
        var before = await SnapshotAsync("touched");

        await using (var gtx = await env.Client.BeginAsync("after-trigger", TimeSpan.FromSeconds(60)))
        {
            await using var connection = await env.Orders.OpenConnectionAsync();
            await connection.ExecuteAsync("UPDATE touched SET v = v + 1 WHERE id = 1");
            await connection.ExecuteAsync("INSERT INTO touched (id, v) VALUES (3, 30)");
            await RollbackExpectingSuccessAsync(gtx);
        }

        Assert.Equal(before, await SnapshotAsync("touched"));
    }

    [Fact]
    public async Task Concurrent_transfers_on_a_versioned_table_commit_and_roll_back_with_every_version_accounted_for()
    {
        const int accounts = 6, workers = 6, transfersPerWorker = 15, initialBalance = 1000;
        int[] ids = [.. Enumerable.Range(100, accounts)];
        await SeedVersionedAsync(ids, initialBalance);
        long initialVersions;
        await using (var seeded = new NpgsqlConnection(env.OrdersConnectionString))
        {
            initialVersions = await seeded.ExecuteScalarAsync<long>("SELECT sum(version)::bigint FROM versioned WHERE id = ANY(@ids)", new { ids });
        }
        var committed = 0;

        await Task.WhenAll(Enumerable.Range(0, workers).Select(worker => Task.Run(async () =>
        {
            var random = new Random(worker);
            for (var i = 0; i < transfersPerWorker; i++)
            {
                var from = ids[random.Next(accounts)];
                var to = ids[(Array.IndexOf(ids, from) + 1 + random.Next(accounts - 1)) % accounts];
                var rollback = random.Next(3) == 0;
                try
                {
                    await using var gtx = await env.Client.BeginAsync("versioned-transfer", TimeSpan.FromSeconds(60));
                    await using (var connection = await env.Orders.OpenConnectionAsync())
                    {
                        // Autocommit: each statement a branch of its own, holding its row lock only while it registers.
                        await connection.ExecuteAsync("UPDATE versioned SET balance = balance - 7 WHERE id = @from", new { from });
                        await connection.ExecuteAsync("UPDATE versioned SET balance = balance + 7 WHERE id = @to", new { to });
                    }
                    if (rollback)
                    {
                        await gtx.RollbackAsync();
                    }
                    else
                    {
                        await gtx.CommitAsync();
                        Interlocked.Increment(ref committed);
                    }
                }
                catch (GlobalLockConflictException)
                {
                    // The row stayed locked past the retries: this transfer did not happen.
                }
            }
        })));

        await env.WaitForQuiescenceAsync(TimeSpan.FromSeconds(30));
        await using var check = new NpgsqlConnection(env.OrdersConnectionString);
        var totals = await check.QuerySingleAsync<(long Balance, long Versions)>(
            "SELECT sum(balance)::bigint, sum(version)::bigint FROM versioned WHERE id = ANY(@ids)", new { ids });
        var rows = string.Join("; ", await check.QueryAsync<string>("SELECT t::text FROM versioned t WHERE id = ANY(@ids) ORDER BY id", new { ids }));
        Assert.True((long)accounts * initialBalance == totals.Balance, $"balances do not add up: {rows}");
        // Each committed transfer bumped two versions; every rolled-back one put its rows back exactly.
        Assert.True(initialVersions + 2L * committed == totals.Versions, $"{committed} committed transfers, versions {totals.Versions}: {rows}");
        Assert.True(committed > 0, "no transfer committed");
        Assert.Empty(await env.LocksAsync());
        Assert.Equal(0, await OrderInventoryEnvironment.UndoRowCountAsync(env.OrdersConnectionString));
    }

    private async Task SeedVersionedAsync(int[] ids, int balance = 0)
    {
        await using var connection = new NpgsqlConnection(env.OrdersConnectionString);
        await connection.ExecuteAsync("""
            DELETE FROM versioned WHERE id = ANY(@ids);
            INSERT INTO versioned (id, name, balance) SELECT id, 'row ' || id, @balance FROM unnest(@ids) AS id;
            UPDATE versioned SET created_at = '2001-02-03 04:05:06.789+00', updated_at = '2002-03-04 05:06:07+00' WHERE id = ANY(@ids);
            """, new { ids, balance });
    }

    // The rows as text in a session of fixed settings; all of the table's when no id is given.
    private async Task<List<string>> SnapshotAsync(string table, params int[] ids)
    {
        await using var connection = new NpgsqlConnection(env.OrdersConnectionString);
        await connection.ExecuteAsync("SET TimeZone = 'UTC'");
        return (await connection.QueryAsync<string>($"SELECT t::text FROM {table} t WHERE cardinality(@ids) = 0 OR id = ANY(@ids) ORDER BY id", new { ids })).ToList();
    }

    // Rolls back and, when that fails, fails the test with what each branch reported.
    private async Task RollbackExpectingSuccessAsync(GlobalTransaction gtx)
    {
        try
        {
            await gtx.RollbackAsync();
        }
        catch (GlobalTransactionException)
        {
            var shown = await env.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = gtx.Xid });
            Assert.Fail($"{gtx.Xid} ended {shown.Transaction.Status}: {string.Join("; ", shown.Transaction.Branches.Select(b => b.LastError))}");
        }
        Assert.Equal(GlobalTransactionStatus.Rollbacked, gtx.Status);
    }

    private async Task WaitForStatusAsync(string xid, GlobalStatus expected)
    {
        var status = GlobalStatus.Unspecified;
        await Eventually.TrueAsync(async () => (status = (await env.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid })).Transaction.Status) == expected,
            TimeSpan.FromSeconds(30), () => Task.FromResult($"{xid} to become {expected} (it is {status})"));
    }
}

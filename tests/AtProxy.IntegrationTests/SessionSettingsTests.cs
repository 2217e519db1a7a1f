using AtProxy.Protocol.V1;
using Dapper;
using AtProxy.Testing;
using Npgsql;

namespace AtProxy.IntegrationTests;

/// <summary>
/// A session's own settings change how PostgreSQL prints (and parses) timestamps, intervals, floats,
/// bytea, reg* values and type names. Images written in such a session must still restore every row
/// exactly, without a false dirty write, while a real dirty write is still caught.
/// </summary>
public class SessionSettingsTests(OrderInventoryEnvironment env) : IClassFixture<OrderInventoryEnvironment>, IAsyncLifetime
{
    private const string Table = "session_typed";

    // Every column a value whose text depends on some setting, and a few that do not: (column, value A, value B).
    private static readonly (string Column, string A, string B)[] Values =
    [
        ("ts", "'2024-03-31 01:30:00'", "'1999-01-08 04:05:06'"),
        ("tstz", "'2024-03-31 01:30:00.123456+00'", "'1999-01-08 04:05:06+02'"),
        ("d", "'2024-02-01'", "'1999-01-08'"),
        ("t", "'13:45:10.5'", "'00:00:01'"),
        ("ttz", "'13:45:10+05:30'", "'23:59:59-08'"),
        ("iv", "'-1 year -2 mons +3 days -04:05:06.789'", "'4 days 3 hours'"),
        ("f4", "0.1::real", "3.14159::real"),
        ("f8", "0.1 + 0.2", "2.0 / 3.0"),
        ("m", "1234.56", "9.99"),
        ("b", "'\\x00ff5c27'", "'\\xdeadbeef'"),
        ("flag", "true", "false"),
        ("n", "12.500", "1e-3"),
        ("j", "'{\"a\": 1.50}'", "'[1,2]'"),
        ("jb", "'{\"b\": [1, 2]}'", "'{\"c\": null}'"),
        ("tarr", "ARRAY['2024-01-01 00:00:00+00'::timestamptz, '1999-12-31 23:59:59.999999+00']", "ARRAY['2000-02-29 12:00:00+00'::timestamptz]"),
        ("r", "'[2024-01-01 00:00+00,2024-06-01 00:00+00)'", "'[2020-01-01 00:00+00,)'"),
        ("p", "'(1.5,-2.25)'", "'(0,0)'"),
        ("mood", "'happy'", "'sad'"),
        ("c", "'ab'", "'xyz'"),
        ("addr", "'10.1.2.3/32'", "'::1'"),
        ("rc", "'app.things'::regclass", "'public.orders'::regclass"),
    ];

    private static readonly string Columns = string.Join(", ", Values.Select(v => v.Column));
    private static readonly string ValuesA = string.Join(", ", Values.Select(v => v.A));
    private static readonly string ValuesB = string.Join(", ", Values.Select(v => v.B));
    private static readonly string SetB = string.Join(", ", Values.Select(v => v.Column + " = " + v.B));

    public static TheoryData<string, string> Sessions => new()
    {
        { "time zone New York", "SET TimeZone = 'America/New_York'" },
        { "time zone +5:45, SQL DMY dates", "SET TimeZone = 'Asia/Kathmandu'; SET DateStyle = 'SQL, DMY'" },
        { "German dates", "SET DateStyle = 'German'; SET TimeZone = 'Europe/Berlin'" },
        { "Postgres MDY dates", "SET DateStyle = 'Postgres, MDY'; SET TimeZone = 'Pacific/Chatham'" },
        { "SQL standard intervals", "SET IntervalStyle = 'sql_standard'" },
        { "ISO 8601 intervals", "SET IntervalStyle = 'iso_8601'" },
        { "verbose intervals", "SET IntervalStyle = 'postgres_verbose'" },
        { "rounded floats", "SET extra_float_digits = -15" },
        { "escaped bytea", "SET bytea_output = 'escape'" },
        { "another search path", "SET search_path = app, public" },
        { "all at once", "SET TimeZone = 'Australia/Lord_Howe'; SET DateStyle = 'SQL, YMD'; SET IntervalStyle = 'sql_standard'; SET extra_float_digits = 0; SET bytea_output = 'escape'; SET search_path = app, public" },
    };

    public async Task InitializeAsync()
    {
        await using var connection = new NpgsqlConnection(env.OrdersConnectionString);
        await connection.ExecuteAsync($"""
            CREATE SCHEMA IF NOT EXISTS app;
            DO $$ BEGIN CREATE TYPE app.mood AS ENUM ('sad', 'happy'); EXCEPTION WHEN duplicate_object THEN NULL; END $$;
            CREATE TABLE IF NOT EXISTS app.things (id int PRIMARY KEY);
            CREATE TABLE IF NOT EXISTS {Table} (
                id int PRIMARY KEY, ts timestamp, tstz timestamptz, d date, t time, ttz timetz, iv interval, f4 real,
                f8 double precision, m money, b bytea, flag bool, n numeric, j json, jb jsonb, tarr timestamptz[],
                r tstzrange, p point, mood app.mood, c char(5), addr inet, rc regclass);
            """);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Theory]
    [MemberData(nameof(Sessions))]
    public async Task Rollback_of_writes_made_in_a_session_with_its_own_settings_restores_every_row_exactly(string name, string settings)
    {
        var ids = await SeedAsync(env);
        var before = await SnapshotAsync(ids);

        await using (var gtx = await env.Client.BeginAsync("session-settings: " + name, TimeSpan.FromSeconds(60)))
        {
            await using var connection = await env.Orders.OpenConnectionAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await connection.ExecuteAsync(settings, transaction: transaction);
            await connection.ExecuteAsync($"UPDATE public.{Table} SET {SetB} WHERE id = @id", new { id = ids[0] }, transaction);
            await connection.ExecuteAsync($"DELETE FROM public.{Table} WHERE id = @id", new { id = ids[1] }, transaction);
            await connection.ExecuteAsync($"INSERT INTO public.{Table} (id, {Columns}) VALUES (@id, {ValuesB})", new { id = ids[2] }, transaction);
            await transaction.CommitAsync();
            Assert.NotEqual(before, await SnapshotAsync(ids));

            // Throws GlobalTransactionException if any branch ended in RollbackFailed (a false dirty write).
            await gtx.RollbackAsync();
            await WaitUntilRolledBackAsync(gtx);
        }

        Assert.Equal(before, await SnapshotAsync(ids));
        Assert.Empty(await env.LocksAsync());
    }

    [Fact]
    public async Task Rollback_through_a_data_source_whose_connection_string_sets_the_session_restores_exactly()
    {
        var options = "-c TimeZone=Asia/Kathmandu -c DateStyle=SQL,DMY -c IntervalStyle=sql_standard -c extra_float_digits=-15 -c bytea_output=escape -c search_path=app,public";
        var connectionString = new NpgsqlConnectionStringBuilder(env.OrdersConnectionString) { Options = options }.ConnectionString;
        // A resource of its own: its phase-2 rollback runs in sessions with these settings too.
        await using var source = env.Client.Wrap(NpgsqlDataSource.Create(connectionString), "orders-with-settings");
        Assert.True(await env.Client.Runtime.ResourceManager.WaitConnectedAsync(TimeSpan.FromSeconds(30)));
        var ids = await SeedAsync(env);
        var before = await SnapshotAsync(ids);

        await using (var gtx = await env.Client.BeginAsync("connection-settings", TimeSpan.FromSeconds(60)))
        {
            await using var connection = await source.OpenConnectionAsync();
            await connection.ExecuteAsync($"UPDATE public.{Table} SET {SetB} WHERE id = @id", new { id = ids[0] });
            await connection.ExecuteAsync($"DELETE FROM public.{Table} WHERE id = @id", new { id = ids[1] });
            await connection.ExecuteAsync($"INSERT INTO public.{Table} (id, {Columns}) VALUES (@id, {ValuesB})", new { id = ids[2] });
            await gtx.RollbackAsync();
            await WaitUntilRolledBackAsync(gtx);
        }

        Assert.Equal(before, await SnapshotAsync(ids));
    }

    [Fact]
    public async Task A_real_dirty_write_is_still_caught_when_the_session_has_its_own_settings()
    {
        var ids = await SeedAsync(env);
        await using var gtx = await env.Client.BeginAsync("session-settings-dirty", TimeSpan.FromSeconds(60));
        await using (var connection = await env.Orders.OpenConnectionAsync())
        {
            await using var transaction = await connection.BeginTransactionAsync();
            await connection.ExecuteAsync("SET TimeZone = 'America/New_York'; SET extra_float_digits = -15", transaction: transaction);
            await connection.ExecuteAsync($"UPDATE public.{Table} SET {SetB} WHERE id = @id", new { id = ids[0] }, transaction);
            await transaction.CommitAsync();
        }
        // Outside the global transaction: a change in the last digit of a float, invisible when rounded.
        await using (var outsider = new NpgsqlConnection(env.OrdersConnectionString))
        {
            await outsider.ExecuteAsync($"UPDATE {Table} SET f8 = f8 + 1e-15 WHERE id = @id", new { id = ids[0] });
        }

        var failure = await Assert.ThrowsAsync<GlobalTransactionException>(() => gtx.RollbackAsync());
        Assert.Equal(GlobalTransactionStatus.RollbackFailed, failure.Status);
        var shown = await env.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = gtx.Xid });
        Assert.Contains("dirty write", Assert.Single(shown.Transaction.Branches).LastError, StringComparison.Ordinal);
    }

    private static int _nextId;

    // Phase 2 may still be under way when the call returns (a resource manager that just subscribed).
    private static async Task WaitUntilRolledBackAsync(GlobalTransaction gtx)
    {
        await Eventually.TrueAsync(async () => await gtx.GetStatusAsync() is GlobalTransactionStatus.Rollbacked or GlobalTransactionStatus.RollbackFailed,
            TimeSpan.FromSeconds(30), () => Task.FromResult($"{gtx.Xid} to end its rollback (it is {gtx.Status})"));
        Assert.Equal(GlobalTransactionStatus.Rollbacked, gtx.Status);
    }

    // Three rows of their own: one to update, one to delete, and an id the transaction inserts.
    private static async Task<int[]> SeedAsync(OrderInventoryEnvironment env)
    {
        var first = Interlocked.Add(ref _nextId, 3);
        int[] ids = [first, first + 1, first + 2];
        await using var connection = new NpgsqlConnection(env.OrdersConnectionString);
        await connection.ExecuteAsync($"DELETE FROM {Table} WHERE id = ANY(@ids)", new { ids });
        await connection.ExecuteAsync($"INSERT INTO {Table} (id, {Columns}) VALUES (@a, {ValuesA}), (@b, {ValuesA})", new { a = ids[0], b = ids[1] });
        return ids;
    }

    // Every row as one text in a session of fixed settings, so any change of value shows.
    private async Task<List<string>> SnapshotAsync(int[] ids)
    {
        await using var connection = new NpgsqlConnection(env.OrdersConnectionString);
        await connection.ExecuteAsync("SET TimeZone = 'UTC'; SET extra_float_digits = 3");
        return (await connection.QueryAsync<string>($"SELECT t::text FROM {Table} t WHERE id = ANY(@ids) ORDER BY id", new { ids })).ToList();
    }
}

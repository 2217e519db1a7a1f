using AtProxy.Testing;
using Dapper;
using Npgsql;

namespace AtProxy.IntegrationTests;

/// <summary>
/// The seed problem's two databases, coordinator and client (<see cref="TwoDatabaseEnvironment"/>)
/// with the integration tests' schema: orders and their lines, tables without a key, with a view,
/// with every column type the images carry, and the stock.
/// </summary>
public class OrderInventoryEnvironment() : TwoDatabaseEnvironment("", "integration-tests")
{
    public const int InitialStock = 1_000_000;

    protected override async Task CreateSchemaAsync(NpgsqlConnection orders, NpgsqlConnection inventory)
    {
        await orders.ExecuteAsync("""
            CREATE TABLE orders (id bigserial PRIMARY KEY, sku text NOT NULL, qty int NOT NULL, note text, created timestamptz NOT NULL DEFAULT now());
            CREATE TABLE order_line (order_id bigint, line_no int, note text, PRIMARY KEY (order_id, line_no));
            CREATE TABLE no_key (a int, b text);
            CREATE VIEW order_view AS SELECT id, sku FROM orders;
            CREATE TABLE typed (
                id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                i2 int2, i4 int4, i8 int8, num numeric(12,3), txt text, vc varchar(20), flag bool,
                u uuid, ts timestamp, tstz timestamptz, d date, b bytea, j jsonb, arr int[], tarr text[], f8 float8,
                doubled int GENERATED ALWAYS AS (i4 * 2) STORED);
            CREATE TABLE uuid_keyed (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), note text);
            """);
        await inventory.ExecuteAsync("CREATE TABLE stock (sku text PRIMARY KEY, count int NOT NULL, sold int NOT NULL DEFAULT 0)");
    }

    /// <summary>Undo rows of committed branches are deleted in the background: hurry that along before each look.</summary>
    protected override Task SettleAsync() => Client.Runtime.ResourceManager.UndoDeletion.DrainAsync(TimeSpan.FromMilliseconds(200));

    /// <summary>Seeds <paramref name="skus"/> with <see cref="InitialStock"/> each.</summary>
    public Task SeedStockAsync(IEnumerable<string> skus) => SeedStockAsync(skus, InitialStock);

    /// <summary>The seed invariant against <see cref="InitialStock"/>.</summary>
    public Task AssertStockMatchesOrdersAsync(IReadOnlyCollection<string> skus, int committed) => AssertStockMatchesOrdersAsync(skus, InitialStock, committed);

    /// <summary>Every row of a table as JSON text, in key order: a snapshot to compare exactly.</summary>
    public static async Task<List<string>> SnapshotAsync(string connectionString, string table, string orderBy)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        return (await connection.QueryAsync<string>($"SELECT row_to_json(t)::text FROM {table} t ORDER BY {orderBy}")).ToList();
    }

    /// <summary>
    /// One order as the seed problem places it: an order row in one database, a stock deduction in the
    /// other, one global transaction; it may roll back by exception or time out on purpose. Returns how it ended;
    /// <paramref name="rolledBackBy"/> sees the exception of a rollback the order did not ask for (timeout, lock conflict).
    /// </summary>
    public async Task<string> PlaceOrderAsync(AtDbDataSource ordersSource, AtDbDataSource inventorySource, string sku, bool timesOut, bool throwsAfterWrites,
        Action<Exception>? rolledBackBy = null)
    {
        try
        {
            await using var gtx = await Client.BeginAsync("place-order", timesOut ? TimeSpan.FromMilliseconds(300) : TimeSpan.FromSeconds(30));
            await using (var orders = await ordersSource.OpenConnectionAsync())
            {
                await orders.ExecuteAsync("INSERT INTO orders (sku, qty) VALUES (@sku, 1)", new { sku });
            }
            await using (var inventory = await inventorySource.OpenConnectionAsync())
            {
                var changed = await inventory.ExecuteAsync("UPDATE stock SET count = count - 1, sold = sold + 1 WHERE sku = @sku AND count > 0", new { sku });
                Assert.Equal(1, changed);
            }
            if (throwsAfterWrites)
            {
                throw new InvalidOperationException("payment declined");
            }
            if (timesOut)
            {
                // Outlives its 300 ms timeout on purpose: the commit is asked only once the coordinator has rolled it back.
                await Eventually.TrueAsync(async () => await gtx.GetStatusAsync() != GlobalTransactionStatus.Begin, TimeSpan.FromSeconds(30),
                    $"the coordinator to time {gtx.Xid} out");
            }
            await gtx.CommitAsync();
            return "committed";
        }
        catch (InvalidOperationException ex) when (ex.Message == "payment declined")
        {
            return "rolled back by exception";
        }
        catch (GlobalTransactionException ex)
        {
            rolledBackBy?.Invoke(ex);
            return "rolled back by timeout";
        }
        catch (GlobalLockConflictException ex)
        {
            rolledBackBy?.Invoke(ex);
            return "rolled back on lock conflict";
        }
    }
}

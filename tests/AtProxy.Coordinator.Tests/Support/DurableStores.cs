using AtProxy.Testing.Coordinator;
using AtProxy.Testing.Postgres;

namespace AtProxy.Coordinator.Tests.Support;

/// <summary>
/// The stores that survive a crash, for tests that kill the coordinator process: the embedded
/// store in its data directory, and the postgres store in a database of the test's own.
/// </summary>
public static class DurableStores
{
    public static TheoryData<string> All => new() { "embedded", "postgres" };

    /// <summary>Process options for <paramref name="store"/>; dispose the database (null for embedded) after the coordinator.</summary>
    public static async Task<(CoordinatorProcessOptions Options, TestDatabase? Database)> ProcessOptionsAsync(string store)
    {
        var options = new CoordinatorProcessOptions { Store = store };
        if (store != "postgres")
        {
            return (options, null);
        }
        var database = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("tc_crash");
        options.Settings["Coordinator:StoreConnection"] = database.ConnectionString;
        return (options, database);
    }
}

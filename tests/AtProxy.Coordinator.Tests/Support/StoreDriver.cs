using AtProxy.Coordinator.Storage;
using AtProxy.Coordinator.Storage.Embedded;
using AtProxy.Coordinator.Storage.Records;
using Microsoft.Extensions.Logging.Abstractions;

namespace AtProxy.Coordinator.Tests.Support;

/// <summary>Drives a store directly, without a coordinator, with the records a coordinator writes.</summary>
internal static class StoreDriver
{
    /// <summary>Opens the embedded store in <paramref name="directory"/>.</summary>
    public static async Task<EmbeddedCoordinatorStore> OpenEmbeddedAsync(string directory, long compactionThreshold = 64L * 1024 * 1024)
    {
        var store = new EmbeddedCoordinatorStore(directory, compactionThreshold, NullLogger<EmbeddedCoordinatorStore>.Instance);
        await store.OpenAsync(CancellationToken.None);
        return store;
    }

    /// <summary>Begins a transaction (begin time 1,000, timeout 60 s) and returns its XID.</summary>
    public static async Task<string> BeginAsync(CoordinatorStoreBase store)
    {
        var sequence = store.NextTransactionSequence();
        var xid = $"tc:{sequence}";
        await store.BeginAsync(new GlobalBegun { Xid = xid, Sequence = sequence, Name = "n", ApplicationId = "app", BeginTimeUnixMs = 1_000, TimeoutMs = 60_000 });
        return xid;
    }
}

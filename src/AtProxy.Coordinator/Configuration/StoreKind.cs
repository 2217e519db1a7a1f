namespace AtProxy.Coordinator.Configuration;

/// <summary>Where the coordinator keeps its state.</summary>
public enum StoreKind
{
    /// <summary>A durable single-node store on local disk under the data directory (the default).</summary>
    Embedded,

    /// <summary>Process memory only: everything is lost on exit. For tests.</summary>
    Memory,

    /// <summary>
    /// A PostgreSQL database (or a PostgreSQL-compatible distributed one) named by
    /// <see cref="CoordinatorOptions.StoreConnection"/>, shared by any number of coordinator instances.
    /// </summary>
    Postgres,
}

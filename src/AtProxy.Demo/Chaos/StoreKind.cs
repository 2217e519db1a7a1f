namespace AtProxy.Demo.Chaos;

/// <summary>The coordinators of a run.</summary>
internal enum StoreKind
{
    /// <summary>One coordinator on its embedded store.</summary>
    Embedded,

    /// <summary>Three coordinators sharing a PostgreSQL store; the services know all three.</summary>
    Postgres,
}

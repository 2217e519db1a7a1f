namespace AtProxy.Load.Modes;

/// <summary>One way of running the order/inventory transaction: insert an order in database A, take stock in database B.</summary>
internal interface IOrderMode
{
    string Name { get; }

    /// <summary>Places one order; <paramref name="rollBack"/> asks for it to be abandoned after both writes.</summary>
    Task<OrderOutcome> PlaceAsync(string sku, bool rollBack, CancellationToken cancellationToken);
}

internal enum OrderOutcome
{
    Committed,
    RolledBack,
    /// <summary>Gave up on a lock another transaction held (AtProxy's global lock, or a database deadlock).</summary>
    Conflict,
    Failed,
}

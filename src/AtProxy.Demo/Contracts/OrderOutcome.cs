namespace AtProxy.Demo.Contracts;

/// <summary>How an order ended, as the order service saw it.</summary>
public enum OrderOutcome
{
    /// <summary>The order and its stock deduction were committed.</summary>
    Committed,

    /// <summary>The payment was declined after the stock was deducted.</summary>
    PaymentDeclined,

    /// <summary>The inventory service failed after deducting the stock.</summary>
    InventoryFailed,

    /// <summary>The inventory call or the whole order took longer than its timeout.</summary>
    TimedOut,

    /// <summary>The inventory service could not be reached or dropped the call (it was killed).</summary>
    InventoryUnavailable,

    /// <summary>Another order held the stock row's global lock for longer than the lock retries last.</summary>
    LockConflict,

    /// <summary>Not enough stock.</summary>
    OutOfStock,

    /// <summary>Anything else.</summary>
    Failed,
}

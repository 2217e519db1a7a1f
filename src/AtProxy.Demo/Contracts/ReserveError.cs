namespace AtProxy.Demo.Contracts;

/// <summary>Why the inventory service refused a reservation (the body of its 409 answer).</summary>
/// <param name="Reason">"out-of-stock" or "lock-conflict".</param>
/// <param name="Detail">A message for people.</param>
public sealed record ReserveError(string Reason, string Detail)
{
    /// <summary>Not enough stock.</summary>
    public const string OutOfStock = "out-of-stock";

    /// <summary>Another global transaction held the row's lock too long.</summary>
    public const string LockConflict = "lock-conflict";
}

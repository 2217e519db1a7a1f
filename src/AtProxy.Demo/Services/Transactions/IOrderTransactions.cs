namespace AtProxy.Demo.Services.Transactions;

/// <summary>
/// Where an order's distributed transaction begins: a global AtProxy transaction, or nothing at
/// all when the demo runs without AtProxy. The order code is the same either way.
/// </summary>
public interface IOrderTransactions
{
    /// <summary>Begins the transaction of one order.</summary>
    Task<IOrderTransaction> BeginAsync(string name, TimeSpan timeout);
}

/// <summary>One order's distributed transaction; disposed without <see cref="CommitAsync"/>, it rolls back.</summary>
public interface IOrderTransaction : IAsyncDisposable
{
    /// <summary>The global transaction's id, or null without AtProxy.</summary>
    string? Xid { get; }

    /// <summary>Commits every service's part of the order.</summary>
    Task CommitAsync();
}

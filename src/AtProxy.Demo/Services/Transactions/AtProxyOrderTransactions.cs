namespace AtProxy.Demo.Services.Transactions;

/// <summary>Each order is one AtProxy global transaction spanning both services' databases.</summary>
public sealed class AtProxyOrderTransactions(AtProxyClient atProxy) : IOrderTransactions
{
    /// <inheritdoc />
    /// <remarks>
    /// Not <c>async</c>: <see cref="AtProxyClient.BeginAsync"/> binds the ambient XID in its caller's
    /// context, and an async method here would drop that binding when it returns.
    /// </remarks>
    public Task<IOrderTransaction> BeginAsync(string name, TimeSpan timeout) => WrapAsync(atProxy.BeginAsync(name, timeout));

    private static async Task<IOrderTransaction> WrapAsync(Task<GlobalTransaction> begin) => new Transaction(await begin);

    private sealed class Transaction(GlobalTransaction global) : IOrderTransaction
    {
        public string? Xid => global.Xid;

        public Task CommitAsync() => global.CommitAsync();

        public ValueTask DisposeAsync() => global.DisposeAsync();
    }
}

namespace AtProxy.Demo.Services.Transactions;

/// <summary>
/// Without AtProxy: nothing spans the services, each one commits or rolls back its own local
/// transaction, as most services do today.
/// </summary>
public sealed class LocalOnlyOrderTransactions : IOrderTransactions
{
    /// <inheritdoc />
    public Task<IOrderTransaction> BeginAsync(string name, TimeSpan timeout) => Task.FromResult<IOrderTransaction>(Nothing.Instance);

    private sealed class Nothing : IOrderTransaction
    {
        public static readonly Nothing Instance = new();

        public string? Xid => null;

        public Task CommitAsync() => Task.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

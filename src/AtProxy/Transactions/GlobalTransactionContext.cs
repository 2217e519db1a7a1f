namespace AtProxy.Transactions;

/// <summary>
/// The ambient global transaction of the current async flow. Every <see cref="AtDbConnection"/>
/// used in the flow joins it; the web integration sets it from the <c>atproxy-xid</c> header.
/// </summary>
internal static class GlobalTransactionContext
{
    private static readonly AsyncLocal<Scope?> Current = new();

    /// <summary>The XID of the ambient global transaction, or null.</summary>
    public static string? CurrentXid => Current.Value?.Xid;

    /// <summary>True inside a <c>GlobalLock</c> scope (outside any global transaction).</summary>
    public static bool InGlobalLockScope => Current.Value is { Xid: null, GlobalLock: true };

    public static IDisposable Bind(string? xid, bool globalLock = false)
    {
        var previous = Current.Value;
        Current.Value = new Scope(xid, globalLock);
        return new Restore(previous);
    }

    private sealed record Scope(string? Xid, bool GlobalLock);

    private sealed class Restore(Scope? previous) : IDisposable
    {
        private bool _disposed;

        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            Current.Value = previous;
        }
    }
}

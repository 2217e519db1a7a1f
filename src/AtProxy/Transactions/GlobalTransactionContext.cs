namespace AtProxy.Transactions;

/// <summary>
/// The ambient global transaction of the current async flow. Every <see cref="AtDbConnection"/>
/// used in the flow joins it; the web integration sets it from the <c>atproxy-xid</c> header.
/// </summary>
/// <remarks>
/// The AsyncLocal holds a mutable scope object rather than the XID itself: a value set inside an
/// async method (such as <c>BeginAsync</c> or <c>DisposeAsync</c>) never flows back to its caller,
/// but a change to an object the caller already holds does. So a scope is bound synchronously in
/// the caller's context, filled in when the coordinator answers, and marked ended on dispose.
/// </remarks>
internal static class GlobalTransactionContext
{
    private static readonly AsyncLocal<Scope?> CurrentScope = new();

    /// <summary>The XID of the ambient global transaction, or null.</summary>
    public static string? CurrentXid => Active()?.Xid;

    /// <summary>
    /// What the flow's statements take part in: the ambient global transaction, a <c>GlobalLock</c>
    /// scope, or nothing (null: commands run unchanged).
    /// </summary>
    public static AmbientTransaction? Current => Active() switch
    {
        { Xid: { } xid } => AmbientTransaction.Global(xid),
        { GlobalLock: true } => AmbientTransaction.GlobalLockScope,
        _ => null,
    };

    /// <summary>Binds a scope in the caller's context; disposing it ends the scope.</summary>
    public static Scope Bind(string? xid, bool globalLock = false)
    {
        var scope = new Scope(xid, globalLock, CurrentScope.Value);
        CurrentScope.Value = scope;
        return scope;
    }

    private static Scope? Active()
    {
        var scope = CurrentScope.Value;
        while (scope is { Ended: true })
        {
            scope = scope.Previous;
        }
        return scope;
    }

    /// <summary>One binding of the ambient transaction; earlier ones show through once it ends.</summary>
    internal sealed class Scope(string? xid, bool globalLock, Scope? previous) : IDisposable
    {
        private volatile string? _xid = xid;
        private volatile bool _ended;

        public string? Xid => _xid;

        public bool GlobalLock { get; } = globalLock;

        public Scope? Previous { get; } = previous;

        public bool Ended => _ended;

        /// <summary>Fills in the XID once the coordinator has issued it.</summary>
        public void SetXid(string xid) => _xid = xid;

        public void Dispose()
        {
            _ended = true;
            // In a synchronous using block this also restores the AsyncLocal for the rest of the method.
            if (ReferenceEquals(CurrentScope.Value, this))
            {
                CurrentScope.Value = Previous;
            }
        }
    }
}

using System.Runtime.CompilerServices;

// Xid moved to AtProxy.Protocol, where the coordinator shares its rule; code built against this
// assembly finds it there.
[assembly: TypeForwardedTo(typeof(AtProxy.Transactions.Xid))]

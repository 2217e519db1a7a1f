namespace AtProxy.AspNetCore;

/// <summary>
/// An endpoint declared <see cref="GlobalTransactionPropagation.Mandatory"/> was called outside a
/// global transaction, or one declared <see cref="GlobalTransactionPropagation.Never"/> inside one.
/// Raised before the endpoint runs; nothing was written.
/// </summary>
public class GlobalTransactionPropagationException : AtProxyException
{
    /// <summary>Creates the exception.</summary>
    public GlobalTransactionPropagationException(string message) : base(message) { }
}

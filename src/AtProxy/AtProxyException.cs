namespace AtProxy;

/// <summary>The base of every exception AtProxy raises.</summary>
public class AtProxyException : Exception
{
    /// <summary>Creates an exception with a message.</summary>
    public AtProxyException(string message) : base(message) { }

    /// <summary>Creates an exception with a message and the exception that caused it.</summary>
    public AtProxyException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>
/// SQL the proxy will not run inside a global transaction (it could not undo it exactly).
/// Raised before anything runs; the message names the construct and where it is.
/// </summary>
public class AtProxyNotSupportedException : AtProxyException
{
    /// <summary>Creates the exception for an unsupported construct.</summary>
    public AtProxyNotSupportedException(string message) : base(message) { }

    /// <summary>Creates the exception for an unsupported construct, with its cause.</summary>
    public AtProxyNotSupportedException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>
/// Global row locks a statement needs are still held by another global transaction after the
/// configured retries. Nothing of the statement's local transaction was committed.
/// </summary>
public class GlobalLockConflictException : AtProxyException
{
    /// <summary>Creates the exception naming the holder.</summary>
    public GlobalLockConflictException(string message, string holderXid, string? table, string? primaryKey)
        : base(message)
    {
        HolderXid = holderXid;
        Table = table;
        PrimaryKey = primaryKey;
    }

    /// <summary>The global transaction that holds the lock.</summary>
    public string HolderXid { get; }

    /// <summary>The table of the first conflicting row, when known.</summary>
    public string? Table { get; }

    /// <summary>The primary key of the first conflicting row, when known.</summary>
    public string? PrimaryKey { get; }
}

/// <summary>A global transaction's commit or rollback ended in a failed or unexpected status.</summary>
public class GlobalTransactionException : AtProxyException
{
    /// <summary>Creates the exception with the status the transaction reached.</summary>
    public GlobalTransactionException(string message, string xid, GlobalTransactionStatus status, Exception? innerException = null)
        : base(message, innerException)
    {
        Xid = xid;
        Status = status;
    }

    /// <summary>The global transaction.</summary>
    public string Xid { get; }

    /// <summary>The status it reached.</summary>
    public GlobalTransactionStatus Status { get; }
}

/// <summary>The coordinator could not be reached (or did not answer in time).</summary>
public class CoordinatorUnavailableException : AtProxyException
{
    /// <summary>Creates the exception with its cause.</summary>
    public CoordinatorUnavailableException(string message, Exception? innerException = null) : base(message, innerException) { }
}

/// <summary>
/// A commit or rollback request got no answer and the transaction's status could not be looked up
/// afterwards: whether it was decided is not known here. The message says what can be known and
/// how to look it up; <see cref="Xid"/> names the transaction.
/// </summary>
public class GlobalTransactionOutcomeUnknownException : CoordinatorUnavailableException
{
    /// <summary>Creates the exception for <paramref name="xid"/>.</summary>
    public GlobalTransactionOutcomeUnknownException(string message, string xid, Exception? innerException = null)
        : base(message, innerException) => Xid = xid;

    /// <summary>The global transaction whose outcome is not known.</summary>
    public string Xid { get; }
}

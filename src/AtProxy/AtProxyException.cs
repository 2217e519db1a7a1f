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

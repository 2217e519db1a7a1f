namespace AtProxy.AspNetCore;

/// <summary>
/// How a declared endpoint relates to the global transaction it is called in (the caller's XID,
/// joined from <c>atproxy-xid</c>). The meanings are Seata's and Spring's.
/// </summary>
public enum GlobalTransactionPropagation
{
    /// <summary>Joins the caller's global transaction; begins one when there is none. The default.</summary>
    Required,

    /// <summary>Always begins a global transaction of its own; the caller's, if any, is suspended meanwhile.</summary>
    RequiresNew,

    /// <summary>Joins the caller's global transaction when there is one; otherwise runs without.</summary>
    Supports,

    /// <summary>Runs outside any global transaction; the caller's, if any, is suspended meanwhile.</summary>
    NotSupported,

    /// <summary>Joins the caller's global transaction; fails when there is none.</summary>
    Mandatory,

    /// <summary>Runs outside any global transaction; fails when called inside one.</summary>
    Never,
}

using Microsoft.AspNetCore.Mvc.Filters;

namespace AtProxy.AspNetCore;

/// <summary>
/// Runs an MVC action (or every action of a controller) in a global transaction, as Seata's
/// <c>@GlobalTransactional</c> does: begun (or joined, see <see cref="Propagation"/>) before the
/// action, committed when the response is a success, rolled back when it is an error status or the
/// action throws (see <see cref="RollbackFor"/>, <see cref="NoRollbackFor"/>,
/// <see cref="NoRollbackForStatusCodes"/>). For minimal APIs use
/// <see cref="GlobalTransactionEndpointExtensions.WithGlobalTransaction{TBuilder}(TBuilder, string, TimeSpan?, Action{GlobalTransactionalAttribute}?)"/>.
/// The work is done by the middleware <c>app.UseAtProxy()</c> adds, from the endpoint's metadata; an
/// action on the controller's attribute wins over the controller's.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, Inherited = true, AllowMultiple = false)]
public sealed class GlobalTransactionalAttribute : Attribute, IAsyncActionFilter
{
    /// <summary>Declares a global transaction named <paramref name="name"/> (the endpoint's display name when null).</summary>
    public GlobalTransactionalAttribute(string? name = null)
    {
        Name = name;
    }

    /// <summary>The global transaction's name, as the coordinator and the CLI show it.</summary>
    public string? Name { get; }

    /// <summary>The timeout in milliseconds; 0 (the default) takes <see cref="AtProxyOptions.DefaultTransactionTimeout"/>.</summary>
    public int TimeoutMilliseconds { get; set; }

    /// <summary>How the endpoint relates to the caller's global transaction; <see cref="GlobalTransactionPropagation.Required"/> by default.</summary>
    public GlobalTransactionPropagation Propagation { get; set; }

    /// <summary>
    /// Exception types (and their subtypes) that roll back. Every exception rolls back unless a
    /// <see cref="NoRollbackFor"/> type matches it more closely, so this list matters only to carve
    /// exceptions out of a broader <see cref="NoRollbackFor"/>.
    /// </summary>
#pragma warning disable CA1819 // An attribute's list arguments can only be arrays.
    public Type[] RollbackFor { get; set; } = [];

    /// <summary>Exception types (and their subtypes) that commit the work done before they were thrown; they still propagate.</summary>
    public Type[] NoRollbackFor { get; set; } = [];

    /// <summary>Error statuses (400 and up) that commit instead of rolling back, e.g. 404 for "nothing to do".</summary>
    public int[] NoRollbackForStatusCodes { get; set; } = [];
#pragma warning restore CA1819

    /// <summary>The timeout to begin with, or null for the client's default.</summary>
    internal TimeSpan? Timeout => TimeoutMilliseconds > 0 ? TimeSpan.FromMilliseconds(TimeoutMilliseconds) : null;

    /// <summary>Fails the action when the middleware did not handle its declaration, instead of running it without a transaction.</summary>
    async Task IAsyncActionFilter.OnActionExecutionAsync(ActionExecutingContext context, ActionExecutionDelegate next)
    {
        GlobalTransactionMiddleware.EnsureHandled(context.HttpContext);
        await next().ConfigureAwait(false);
    }
}

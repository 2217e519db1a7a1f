using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace AtProxy.AspNetCore;

/// <summary>Declares global transactions on minimal-API endpoints.</summary>
public static class GlobalTransactionEndpointExtensions
{
    /// <summary>
    /// Runs the endpoint in a global transaction named <paramref name="name"/>, with the meaning of
    /// <see cref="GlobalTransactionalAttribute"/>; <paramref name="configure"/> sets propagation and
    /// rollback rules. Needs <c>app.UseAtProxy()</c> in the pipeline after routing; without it the
    /// endpoint fails instead of running outside a transaction.
    /// </summary>
    public static TBuilder WithGlobalTransaction<TBuilder>(this TBuilder builder, string name, TimeSpan? timeout = null, Action<GlobalTransactionalAttribute>? configure = null)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (timeout is { } t && (t <= TimeSpan.Zero || t.TotalMilliseconds > int.MaxValue))
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), t, $"The global transaction '{name}' needs a positive timeout of at most {int.MaxValue} ms.");
        }
        var declaration = new GlobalTransactionalAttribute(name) { TimeoutMilliseconds = timeout is { } ms ? (int)Math.Ceiling(ms.TotalMilliseconds) : 0 };
        configure?.Invoke(declaration);
        GlobalTransactionDeclaration.Validate(declaration);
        builder.WithMetadata(declaration);
        builder.AddEndpointFilter(async (context, next) =>
        {
            GlobalTransactionMiddleware.EnsureHandled(context.HttpContext);
            return await next(context).ConfigureAwait(false);
        });
        return builder;
    }
}

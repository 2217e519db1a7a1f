using System.Globalization;
using System.Runtime.ExceptionServices;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AtProxy.AspNetCore;

/// <summary>
/// Runs endpoints that declare a global transaction (<see cref="GlobalTransactionalAttribute"/>,
/// <see cref="GlobalTransactionEndpointExtensions.WithGlobalTransaction{TBuilder}"/>) in one, by the
/// endpoint's metadata: so minimal APIs and MVC actions share one implementation. It runs after the
/// XID middleware, which has already joined the caller's transaction, and after routing.
/// </summary>
internal sealed class GlobalTransactionMiddleware(RequestDelegate next, AtProxyClient client, ILogger<GlobalTransactionMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        if (endpoint?.Metadata.GetMetadata<GlobalTransactionalAttribute>() is not { } declaration)
        {
            await next(context).ConfigureAwait(false);
            return;
        }
        context.Features.Set(HandledFeature.Instance);
        GlobalTransactionDeclaration.Validate(declaration);
        var name = declaration.Name ?? endpoint.DisplayName ?? context.Request.Path.ToString();
        var incoming = client.CurrentXid;
        switch (declaration.Propagation)
        {
            case GlobalTransactionPropagation.Mandatory when incoming is null:
                throw new GlobalTransactionPropagationException($"'{name}' must be called inside a global transaction (propagation Mandatory), but the request carries no {AtProxyHeaders.Xid}.");
            case GlobalTransactionPropagation.Never when incoming is not null:
                throw new GlobalTransactionPropagationException($"'{name}' must not be called inside a global transaction (propagation Never), but the request is in {incoming}.");
            case GlobalTransactionPropagation.NotSupported:
                using (client.Suspend())
                {
                    await next(context).ConfigureAwait(false);
                }
                return;
            case GlobalTransactionPropagation.RequiresNew:
                using (client.Suspend())
                {
                    await RunAsOriginatorAsync(context, declaration, name).ConfigureAwait(false);
                }
                return;
            case GlobalTransactionPropagation.Required when incoming is null:
                await RunAsOriginatorAsync(context, declaration, name).ConfigureAwait(false);
                return;
            default:
                // Joined (Required, Mandatory, Supports with a caller's XID) or outside one (Supports, Never):
                // the caller decides its transaction, so this endpoint neither commits nor runs hooks.
                await next(context).ConfigureAwait(false);
                return;
        }
    }

    /// <summary>Throws when a declared endpoint runs without this middleware having handled it (missing, or before routing).</summary>
    public static void EnsureHandled(HttpContext context)
    {
        if (context.Features.Get<HandledFeature>() is null)
        {
            throw new InvalidOperationException(
                $"The endpoint '{context.GetEndpoint()?.DisplayName}' declares a global transaction, but AtProxy's middleware did not run for it: " +
                "call app.UseAtProxy() after routing (after app.UseRouting() when the application calls it).");
        }
    }

    private async Task RunAsOriginatorAsync(HttpContext context, GlobalTransactionalAttribute declaration, string name)
    {
        var hooks = new GlobalTransactionHooks(
            [.. context.RequestServices.GetServices<IGlobalTransactionHook>()], new GlobalTransactionHookContext(name, context), logger);
        await hooks.RunAsync((h, c) => h.BeforeBeginAsync(c)).ConfigureAwait(false);
        // Bound here, in this method's flow, so the endpoint below runs in the new transaction.
        var transaction = await client.BeginAsync(name, declaration.Timeout, context.RequestAborted).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            hooks.Context.Xid = transaction.Xid;
            var response = ResponseBuffer.Start(context);
            Exception? failure = null;
            try
            {
                await hooks.RunAsync((h, c) => h.AfterBeginAsync(c)).ConfigureAwait(false);
                await next(context).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Caught to decide the transaction, then rethrown as it was.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                failure = ex;
            }
            try
            {
                await DecideAsync(transaction, declaration, hooks, failure, context.Response.StatusCode).ConfigureAwait(false);
            }
            catch (Exception decisionFailure)
            {
                // Not decided as the response said (a failed commit, a hook that stopped it): the client
                // must not see the success, so the error goes up in its place.
                await response.DiscardAsync().ConfigureAwait(false);
                if (failure is null)
                {
                    throw;
                }
                logger.LogError(decisionFailure, "Deciding global transaction {Xid} ({Name}) after {Exception} failed.", transaction.Xid, name, failure.GetType().Name);
            }
            finally
            {
                await hooks.RunAfterDecisionAsync((h, c) => h.AfterCompletionAsync(c), "after-completion").ConfigureAwait(false);
            }
            if (failure is not null)
            {
                await response.DiscardAsync().ConfigureAwait(false);
                ExceptionDispatchInfo.Throw(failure);
            }
            await response.SendAsync().ConfigureAwait(false);
        }
    }

    private async Task DecideAsync(GlobalTransaction transaction, GlobalTransactionalAttribute declaration, GlobalTransactionHooks hooks, Exception? failure, int statusCode)
    {
        hooks.Context.Exception = failure;
        var rollback = failure is not null
            ? GlobalTransactionDeclaration.RollsBackOn(declaration, failure)
            : GlobalTransactionDeclaration.RollsBackOn(declaration, statusCode);
        if (!rollback)
        {
            try
            {
                await hooks.RunAsync((h, c) => h.BeforeCommitAsync(c)).ConfigureAwait(false);
            }
            catch (Exception hookFailure)
            {
                hooks.Context.Exception = hookFailure;
                await RollbackAsync(transaction, hooks, failure, hookFailure).ConfigureAwait(false);
                throw;
            }
            try
            {
                await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
            }
            finally
            {
                hooks.Context.Status = transaction.Status;
            }
            await hooks.RunAfterDecisionAsync((h, c) => h.AfterCommitAsync(c), "after-commit").ConfigureAwait(false);
            return;
        }
        await RollbackAsync(transaction, hooks, failure, failure).ConfigureAwait(false);
    }

    // cause: what made it roll back (the endpoint's exception or a hook's), recorded as the reason;
    // null when the response status did.
    private async Task RollbackAsync(GlobalTransaction transaction, GlobalTransactionHooks hooks, Exception? failure, Exception? cause)
    {
        try
        {
            await hooks.RunAfterDecisionAsync((h, c) => h.BeforeRollbackAsync(c), "before-rollback").ConfigureAwait(false);
            await (cause is not null
                ? transaction.RollbackAsync(cause, CancellationToken.None)
                : transaction.RollbackAsync(
                    string.Create(CultureInfo.InvariantCulture, $"the endpoint answered {hooks.Context.HttpContext.Response.StatusCode}"), CancellationToken.None)).ConfigureAwait(false);
            hooks.Context.Status = transaction.Status;
        }
        catch (Exception ex) when (failure is not null)
        {
            // The endpoint's own exception is what the client must see; the coordinator's timeout
            // finishes a rollback that could not be asked for.
            logger.LogError(ex, "Rolling back global transaction {Xid} ({Name}) after {Exception} failed.", transaction.Xid, hooks.Context.Name, failure.GetType().Name);
            return;
        }
        await hooks.RunAfterDecisionAsync((h, c) => h.AfterRollbackAsync(c), "after-rollback").ConfigureAwait(false);
    }

    /// <summary>Marks a request whose declaration this middleware handled.</summary>
    internal sealed class HandledFeature
    {
        public static readonly HandledFeature Instance = new();
    }
}

using System.Data.Common;
using AtProxy.Phase1;
using AtProxy.Resources;
using AtProxy.Threading;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace AtProxy.EntityFrameworkCore;

/// <summary>
/// Hands every command EF Core runs inside a global transaction (or GlobalLock scope) to AtProxy's
/// phase-1 engine, on EF's own <c>NpgsqlConnection</c> and transaction, and gives EF the result as if
/// the command had run unchanged. Outside one, EF's command runs untouched.
/// </summary>
internal sealed class AtProxyCommandInterceptor(Phase1Gateway phase1, Resource resource, BranchTable branches) : DbCommandInterceptor
{
    public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result) =>
        Phase1Gateway.Intercepts ? Blocking.Wait(() => ReaderExecutingAsync(command, eventData, result).AsTask()) : result;

    public override async ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default) =>
        await Run(command, cancellationToken).ConfigureAwait(false) is { } executed
            ? InterceptionResult<DbDataReader>.SuppressWithResult(await ResultReplay.ReplayAsync(command, executed, cancellationToken).ConfigureAwait(false))
            : result;

    public override InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result) =>
        Phase1Gateway.Intercepts && Blocking.Wait(() => Run(command, CancellationToken.None)) is { } executed
            ? InterceptionResult<int>.SuppressWithResult(executed.RecordsAffected)
            : result;

    public override async ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default) =>
        await Run(command, cancellationToken).ConfigureAwait(false) is { } executed
            ? InterceptionResult<int>.SuppressWithResult(executed.RecordsAffected)
            : result;

    public override InterceptionResult<object> ScalarExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<object> result) =>
        Phase1Gateway.Intercepts && Blocking.Wait(() => Run(command, CancellationToken.None)) is { } executed
            ? InterceptionResult<object>.SuppressWithResult(executed.Scalar()!)
            : result;

    public override async ValueTask<InterceptionResult<object>> ScalarExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<object> result, CancellationToken cancellationToken = default) =>
        await Run(command, cancellationToken).ConfigureAwait(false) is { } executed
            ? InterceptionResult<object>.SuppressWithResult(executed.Scalar()!)
            : result;

    private Task<ExecutionResult?> Run(DbCommand command, CancellationToken cancellationToken) =>
        phase1.RunAsync(command, resource, command.Transaction is { } transaction ? owner => branches.GetOrCreate(transaction, owner) : null, cancellationToken);
}

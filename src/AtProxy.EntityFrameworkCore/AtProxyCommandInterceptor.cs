using System.Data;
using System.Data.Common;
using AtProxy.Execution;
using AtProxy.Resources;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace AtProxy.EntityFrameworkCore;

/// <summary>
/// Hands every command EF Core runs inside a global transaction (or GlobalLock scope) to AtProxy's
/// phase-1 engine, on EF's own <c>NpgsqlConnection</c> and transaction, and gives EF the result as if
/// the command had run unchanged. Outside one, EF's command runs untouched.
/// </summary>
internal sealed class AtProxyCommandInterceptor(AtProxyClient client, Resource resource, BranchTable branches) : DbCommandInterceptor
{
    public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result) =>
        ReaderExecutingAsync(command, eventData, result).AsTask().GetAwaiter().GetResult();

    public override async ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default) =>
        await Run(command, cancellationToken) is { } executed
            ? InterceptionResult<DbDataReader>.SuppressWithResult(await ResultReplay.ReplayAsync(command, executed, cancellationToken))
            : result;

    public override InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result) =>
        Run(command, CancellationToken.None).GetAwaiter().GetResult() is { } executed
            ? InterceptionResult<int>.SuppressWithResult(executed.RecordsAffected)
            : result;

    public override async ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default) =>
        await Run(command, cancellationToken) is { } executed
            ? InterceptionResult<int>.SuppressWithResult(executed.RecordsAffected)
            : result;

    public override InterceptionResult<object> ScalarExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<object> result) =>
        Run(command, CancellationToken.None).GetAwaiter().GetResult() is { } executed
            ? InterceptionResult<object>.SuppressWithResult(executed.Scalar()!)
            : result;

    public override async ValueTask<InterceptionResult<object>> ScalarExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<object> result, CancellationToken cancellationToken = default) =>
        await Run(command, cancellationToken) is { } executed
            ? InterceptionResult<object>.SuppressWithResult(executed.Scalar()!)
            : result;

    private Task<ExecutionResult?> Run(DbCommand command, CancellationToken cancellationToken)
    {
        if (!StatementRouter.ShouldIntercept(command.CommandType) || command.Connection is not { } connection)
        {
            return Task.FromResult<ExecutionResult?>(null);
        }
        if (command.CommandType != CommandType.Text)
        {
            throw new AtProxyNotSupportedException($"A {command.CommandType} command cannot run in a global transaction: the proxy can only record undo for SQL text it can read.");
        }
        var transaction = command.Transaction;
        var units = new[] { new StatementUnit(command.CommandText, command.Parameters, command.CommandTimeout) };
        return client.Phase1.ExecuteAsync(connection, resource, transaction,
            transaction is null ? null : xid => branches.GetOrCreate(transaction, xid, resource, client),
            units, cancellationToken);
    }
}

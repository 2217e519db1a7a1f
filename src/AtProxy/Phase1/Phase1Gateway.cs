using System.Data;
using System.Data.Common;
using AtProxy.Resources;
using AtProxy.Transactions;

namespace AtProxy.Phase1;

/// <summary>
/// The one way into phase 1, for <see cref="AtDbCommand"/>, <see cref="AtDbBatch"/> and EF Core's
/// command interceptor alike. Outside a global transaction or GlobalLock scope it costs one
/// AsyncLocal read and answers null (the caller runs its command unchanged). Inside one it refuses
/// what it cannot record, reads the SQL, and runs it in the local transaction's branch, or as an
/// autocommit branch of its own when there is no local transaction.
/// </summary>
internal sealed class Phase1Gateway(AtProxyRuntime runtime)
{
    private static readonly Task<ExecutionResult?> NotIntercepted = Task.FromResult<ExecutionResult?>(null);

    /// <summary>
    /// Whether the flow is in a global transaction or GlobalLock scope: one AsyncLocal read, for the
    /// blocking methods to check before they set up a wait for nothing.
    /// </summary>
    public static bool Intercepts => GlobalTransactionContext.Current is not null;

    /// <summary>
    /// Runs the provider's own <paramref name="command"/> through phase 1 when the flow needs it.
    /// </summary>
    /// <param name="command">The provider's command, on the provider's connection.</param>
    /// <param name="resource">The database as the coordinator knows it.</param>
    /// <param name="branchOfTransaction">
    /// The branch of the application's local transaction on the connection, created on first use;
    /// null when there is none (the statement becomes an autocommit branch).
    /// </param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The result, or null when the caller should run the command unchanged.</returns>
    public Task<ExecutionResult?> RunAsync(DbCommand command, Resource resource,
        Func<AmbientTransaction, LocalTransactionBranch>? branchOfTransaction, CancellationToken cancellationToken)
    {
        if (GlobalTransactionContext.Current is not { } owner || command.Connection is not { } connection)
        {
            return NotIntercepted;
        }
        EnsureText(command.CommandType, "command");
        var units = new[] { new StatementUnit(command.CommandText, command.Parameters, command.CommandTimeout) };
        return RunAsync(connection, resource, owner, branchOfTransaction, units, cancellationToken);
    }

    /// <summary>Runs the provider's own <paramref name="batch"/> through phase 1 when the flow needs it.</summary>
    /// <inheritdoc cref="RunAsync(DbCommand, Resource, Func{AmbientTransaction, LocalTransactionBranch}?, CancellationToken)"/>
    public Task<ExecutionResult?> RunAsync(DbBatch batch, Resource resource,
        Func<AmbientTransaction, LocalTransactionBranch>? branchOfTransaction, CancellationToken cancellationToken)
    {
        if (GlobalTransactionContext.Current is not { } owner || batch.Connection is not { } connection)
        {
            return NotIntercepted;
        }
        var units = new List<StatementUnit>(batch.BatchCommands.Count);
        foreach (DbBatchCommand command in batch.BatchCommands)
        {
            EnsureText(command.CommandType, "batch command");
            units.Add(new StatementUnit(command.CommandText, command.Parameters, batch.Timeout));
        }
        return RunAsync(connection, resource, owner, branchOfTransaction, units, cancellationToken);
    }

    private async Task<ExecutionResult?> RunAsync(DbConnection connection, Resource resource, AmbientTransaction owner,
        Func<AmbientTransaction, LocalTransactionBranch>? branchOfTransaction, IReadOnlyList<StatementUnit> units, CancellationToken cancellationToken)
    {
        var plan = StatementPlan.Read(runtime.Recognizer, units);
        if (!plan.NeedsProxy)
        {
            return null;
        }
        if (connection.State != ConnectionState.Open)
        {
            throw new InvalidOperationException("The connection is not open.");
        }
        if (branchOfTransaction is null)
        {
            return await AutocommitBranch.RunAsync(runtime, connection, resource, owner, plan, cancellationToken).ConfigureAwait(false);
        }
        var branch = branchOfTransaction(owner);
        if (branch.Owner != owner)
        {
            throw new AtProxyException($"This local transaction already belongs to {branch.Owner}; it cannot also run statements of {owner}.");
        }
        return await branch.RunAsync(plan, cancellationToken).ConfigureAwait(false);
    }

    private static void EnsureText(CommandType commandType, string what)
    {
        if (commandType != CommandType.Text)
        {
            throw new AtProxyNotSupportedException(
                $"A {what} of type {commandType} cannot run in a global transaction: the proxy can only record undo for SQL text it can read.");
        }
    }
}

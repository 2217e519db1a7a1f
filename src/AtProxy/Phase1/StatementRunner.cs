namespace AtProxy.Phase1;

/// <summary>Runs a plan's statements one after the other in a branch's local transaction.</summary>
internal static class StatementRunner
{
    public static async Task<ExecutionResult> RunAsync(LocalTransactionBranch branch, StatementPlan plan, CancellationToken cancellationToken)
    {
        var results = new List<BufferedResultSet>();
        for (var u = 0; u < plan.Units.Count; u++)
        {
            var unit = plan.Units[u];
            var statements = plan.Commands[u].Statements;
            for (var s = 0; s < statements.Count; s++)
            {
                // A single statement runs as the application wrote it; a batch runs statement by statement.
                var text = statements.Count == 1 ? unit.CommandText : statements[s].Text;
                results.Add(await StatementExecutor.ExecuteAsync(statements[s], text, unit, branch, cancellationToken).ConfigureAwait(false));
            }
        }
        return new ExecutionResult(results);
    }
}

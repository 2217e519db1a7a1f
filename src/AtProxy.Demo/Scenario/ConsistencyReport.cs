namespace AtProxy.Demo.Scenario;

/// <summary>What the consistency check found after the run.</summary>
/// <param name="Skus">Every SKU's balance.</param>
/// <param name="OrderRows">Orders in the orders database.</param>
/// <param name="CommittedOrders">Orders the order service reported committed.</param>
/// <param name="Undo">What is left in both databases' <c>atproxy_undo_log</c>.</param>
/// <param name="GlobalLocks">Global locks the coordinator still holds.</param>
/// <param name="UnfinishedTransactions">Global transactions the coordinator has not finished.</param>
/// <param name="Settled">Whether everything settled within the wait.</param>
internal sealed record ConsistencyReport(
    IReadOnlyList<SkuBalance> Skus, long OrderRows, int CommittedOrders, UndoLogContents Undo, int GlobalLocks, int UnfinishedTransactions, bool Settled)
{
    /// <summary>The SKUs whose numbers do not add up.</summary>
    public IEnumerable<SkuBalance> InconsistentSkus => Skus.Where(s => !s.IsConsistent);

    /// <summary>Every rule holds and nothing of AtProxy's is left behind.</summary>
    public bool IsConsistent =>
        Skus.All(s => s.IsConsistent) && OrderRows == CommittedOrders && Undo.Pending == 0 && GlobalLocks == 0 && UnfinishedTransactions == 0;
}

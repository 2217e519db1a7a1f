using AtProxy.Protocol.Undo;
using AtProxy.Protocol.V1;

namespace AtProxy.Cli.Undo;

/// <summary>
/// What a rollback would find in a row, in words, from its undo image (read from the database by the
/// CLI, or reported by the resource manager through the coordinator: the same words either way).
/// </summary>
internal static class RowState
{
    public static string Describe(UndoRowImage image, TransactionOutcome? outcome)
    {
        var inserted = image.Operation == "insert";
        var deleted = image.Operation == "delete";
        if (!image.ExistsNow)
        {
            return deleted ? "still deleted" : "missing: the row was deleted outside the transaction";
        }
        if (deleted)
        {
            return "present: the deleted row was inserted again outside the transaction";
        }
        if (image.Cells.All(c => !c.Dirty))
        {
            return outcome is { } known
                ? known.MatchesAfter(inserted)
                : inserted ? "matches after: rollback can delete it" : "matches after: rollback can restore it";
        }
        if (!inserted && image.Cells.All(c => UndoValueComparison.Same(c.Current, c.Before)))
        {
            return "matches before: already restored";
        }
        return "dirty: changed outside the transaction after phase 1";
    }
}

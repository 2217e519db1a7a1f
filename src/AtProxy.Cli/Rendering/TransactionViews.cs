using AtProxy.Protocol.V1;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace AtProxy.Cli.Rendering;

/// <summary>A branch as JSON.</summary>
internal sealed record BranchJson(
    long BranchId, string ResourceId, string ApplicationId, string Status, DateTimeOffset RegisteredAt, int LockCount, string? LastError,
    int FailedAttempts, DateTimeOffset? NextAttemptAt, string? WaitingFor);

/// <summary>A global transaction as JSON.</summary>
internal sealed record TransactionJson(
    string Xid, string Name, string ApplicationId, string Status, DateTimeOffset BeganAt, long AgeMs, long TimeoutMs,
    DateTimeOffset LastUpdateAt, int Attempts, IReadOnlyList<BranchJson> Branches, string? WaitingFor);

/// <summary>A page of transactions as JSON; <c>nextPageToken</c> is null on the last page.</summary>
internal sealed record TransactionsPageJson(IReadOnlyList<TransactionJson> Transactions, string? NextPageToken);

/// <summary>One recorded status change as JSON.</summary>
internal sealed record TransitionJson(DateTimeOffset At, string From, string To, string? Reason, string Actor);

/// <summary>One transaction in full as JSON.</summary>
internal sealed record TransactionDetailJson(TransactionJson Transaction, long TimeoutLeftMs, IReadOnlyList<LockJson> Locks, IReadOnlyList<TransitionJson> History);

/// <summary>Global transactions as tables or as JSON.</summary>
internal static class TransactionViews
{
    public static TransactionJson ToJson(GlobalTransactionInfo t, DateTimeOffset now) => new(
        t.Xid, t.Name, t.ApplicationId, Formats.EnumName(t.Status), Formats.FromUnixMs(t.BeginTimeUnixMs), Formats.AgeMs(t.BeginTimeUnixMs, now),
        t.TimeoutMs, Formats.FromUnixMs(t.LastUpdateUnixMs), t.Attempts,
        [.. t.Branches.Select(b => new BranchJson(
            b.BranchId, b.ResourceId, b.ApplicationId, Formats.EnumName(b.Status), Formats.FromUnixMs(b.RegisteredUnixMs), b.LockCount,
            b.LastError.Length == 0 ? null : b.LastError, b.FailedAttempts,
            b.NextAttemptUnixMs == 0 ? null : Formats.FromUnixMs(b.NextAttemptUnixMs), b.WaitingFor.Length == 0 ? null : b.WaitingFor))],
        t.WaitingFor.Length == 0 ? null : t.WaitingFor);

    public static void RenderList(CliOutput output, IReadOnlyList<GlobalTransactionInfo> transactions, string? nextPageToken, DateTimeOffset now)
    {
        if (output.IsJson)
        {
            output.WriteJson(new TransactionsPageJson([.. transactions.Select(t => ToJson(t, now))], nextPageToken));
            return;
        }
        if (transactions.Count == 0)
        {
            output.Console.WriteLine("No global transactions match.");
            Paging.RenderHint(output, nextPageToken);
            return;
        }
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumns("xid", "name", "application", "status", "age", "branches", "locks", "attempts", "last error");
        foreach (var t in transactions)
        {
            var lastError = t.Branches.Select(b => b.LastError).LastOrDefault(e => e.Length > 0) ?? "";
            table.AddRow(
                new Text(t.Xid, new Style(decoration: Decoration.Bold)), new Text(t.Name), new Text(t.ApplicationId), StatusStyles.Global(t.Status),
                new Text(Formats.Duration(Formats.AgeMs(t.BeginTimeUnixMs, now))), new Text(Formats.Number(t.Branches.Count)),
                new Text(Formats.Number(t.Branches.Sum(b => b.LockCount))), new Text(Formats.Number(t.Attempts)), new Text(lastError));
        }
        output.Console.Write(table);
        output.Console.WriteLine($"{transactions.Count} transaction(s), oldest first.");
        Paging.RenderHint(output, nextPageToken);
    }

    public static void RenderDetail(CliOutput output, GetTransactionResponse detail, DateTimeOffset now)
    {
        var t = detail.Transaction;
        if (output.IsJson)
        {
            output.WriteJson(new TransactionDetailJson(
                ToJson(t, now), detail.TimeoutLeftMs,
                [.. detail.Locks.Select(l => LockViews.ToJson(l, now))],
                [.. detail.History.Select(h => new TransitionJson(
                    Formats.FromUnixMs(h.AtUnixMs), Formats.EnumName(h.From), Formats.EnumName(h.To), h.Reason.Length == 0 ? null : h.Reason, h.Actor))]));
            return;
        }

        var console = output.Console;
        var summary = new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn();
        AddField(summary, "xid", new Text(t.Xid, new Style(decoration: Decoration.Bold)));
        AddField(summary, "name", new Text(t.Name));
        AddField(summary, "application", new Text(t.ApplicationId));
        AddField(summary, "status", StatusStyles.Global(t.Status));
        AddField(summary, "began", new Text($"{Formats.Timestamp(t.BeginTimeUnixMs)} ({Formats.Duration(Formats.AgeMs(t.BeginTimeUnixMs, now))} ago)"));
        AddField(summary, "timeout", new Text(Formats.Duration(t.TimeoutMs)));
        AddField(summary, "timeout left", new Text(t.Status == GlobalStatus.Begin ? Formats.Duration(detail.TimeoutLeftMs) : "- (decided)"));
        AddField(summary, "last update", new Text(Formats.Timestamp(t.LastUpdateUnixMs)));
        AddField(summary, "phase-2 attempts", new Text(Formats.Number(t.Attempts)));
        AddField(summary, "waiting for", new Text(t.WaitingFor.Length > 0 ? t.WaitingFor : "nothing", t.WaitingFor.Length > 0 ? new Style(Color.Yellow) : Style.Plain));
        console.Write(summary);
        console.WriteLine();

        var branches = new Table().Border(TableBorder.Rounded).Title("branches")
            .AddColumns("branch", "resource", "application", "status", "locks", "registered", "failed attempts", "waiting for", "last error");
        foreach (var b in t.Branches)
        {
            branches.AddRow(
                new Text(Formats.Number(b.BranchId)), new Text(b.ResourceId), new Text(b.ApplicationId), StatusStyles.Branch(b.Status),
                new Text(Formats.Number(b.LockCount)), new Text(Formats.Timestamp(b.RegisteredUnixMs)),
                new Text(Formats.Number(b.FailedAttempts)), new Text(b.WaitingFor),
                new Text(b.LastError, b.LastError.Length > 0 ? new Style(Color.Red) : Style.Plain));
        }
        if (t.Branches.Count == 0)
        {
            console.WriteLine("No branches registered.");
        }
        else
        {
            console.Write(branches);
        }

        if (detail.Locks.Count == 0)
        {
            console.WriteLine("No global locks held.");
        }
        else
        {
            console.Write(LockViews.Table(detail.Locks, now).Title("locks"));
        }

        if (detail.History.Count == 0)
        {
            console.WriteLine("No status changes recorded yet.");
            return;
        }
        var history = new Table().Border(TableBorder.Rounded).Title("history")
            .AddColumns("at", "from", "to", "actor", "reason");
        foreach (var h in detail.History)
        {
            history.AddRow(
                new Text(Formats.Timestamp(h.AtUnixMs)), StatusStyles.Global(h.From), StatusStyles.Global(h.To), new Text(h.Actor), new Text(h.Reason));
        }
        console.Write(history);
    }

    private static void AddField(Grid grid, string name, IRenderable value) =>
        grid.AddRow(new Text(name, new Style(Color.Grey)), value);
}

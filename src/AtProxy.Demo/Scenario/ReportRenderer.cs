using AtProxy.Demo.Contracts;
using Spectre.Console;

namespace AtProxy.Demo.Scenario;

/// <summary>Prints the run's outcome table, the consistency check and the verdict.</summary>
internal static class ReportRenderer
{
    private static readonly (OrderOutcome Outcome, string Label)[] Failures =
    [
        (OrderOutcome.PaymentDeclined, "payment declined after the stock was deducted"),
        (OrderOutcome.InventoryFailed, "inventory service threw after committing its deduction"),
        (OrderOutcome.TimedOut, "inventory call took longer than the order's timeout"),
        (OrderOutcome.InventoryUnavailable, "inventory service killed / unreachable"),
        (OrderOutcome.LockConflict, "stock row's global lock busy too long"),
        (OrderOutcome.OutOfStock, "out of stock"),
        (OrderOutcome.Failed, "other error"),
    ];

    public static void Outcomes(OutcomeTally tally, bool useAtProxy)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("[bold]How the orders ended[/]")
            .AddColumn("outcome").AddColumn(new TableColumn("orders").RightAligned());
        table.AddRow("[green]committed[/]", tally[OrderOutcome.Committed].ToString(System.Globalization.CultureInfo.InvariantCulture));
        var failedLabel = useAtProxy ? "rolled back" : "failed";
        foreach (var (outcome, label) in Failures)
        {
            if (tally[outcome] > 0 || outcome is not (OrderOutcome.LockConflict or OrderOutcome.OutOfStock or OrderOutcome.Failed))
            {
                table.AddRow($"[yellow]{failedLabel}[/]: {label}", tally[outcome].ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }
        table.AddRow("[bold]total[/]", $"[bold]{tally.Total}[/]");
        table.Caption(useAtProxy
            ? "[grey]rolled back = both services' writes undone: the order row and the stock deduction[/]"
            : "[grey]failed = the order service rolled back its own local transaction; the inventory service kept what it had committed[/]");
        AnsiConsole.Write(table);
        foreach (var detail in tally.UnexpectedFailures)
        {
            AnsiConsole.MarkupLine($"  [grey]other error:[/] {Markup.Escape(detail)}");
        }
    }

    public static void Consistency(ConsistencyReport report, bool useAtProxy)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("[bold]Consistency check, per SKU[/]")
            .AddColumn("SKU")
            .AddColumn(new TableColumn("initial").RightAligned())
            .AddColumn(new TableColumn("in stock").RightAligned())
            .AddColumn(new TableColumn("sold").RightAligned())
            .AddColumn(new TableColumn("ordered").RightAligned())
            .AddColumn(new TableColumn("stock + sold = initial").Centered())
            .AddColumn(new TableColumn("ordered = sold").Centered());
        foreach (var sku in report.Skus)
        {
            table.AddRow(Markup.Escape(sku.Sku), $"{sku.Initial}", $"{sku.InStock}", $"{sku.Sold}", $"{sku.Orders}",
                Mark(sku.StockBalances, $"{sku.InStock + sku.Sold}"), Mark(sku.OrdersMatchSold, sku.Orders == sku.Sold ? "" : $"{sku.Orders - sku.Sold:+#;-#}"));
        }
        AnsiConsole.Write(table);

        Check("orders in the orders database = orders reported committed", report.OrderRows == report.CommittedOrders, $"{report.OrderRows} / {report.CommittedOrders}");
        if (useAtProxy)
        {
            Check("undo records of transactions not committed (rollback unfinished)", report.Undo.Pending == 0, $"{report.Undo.Pending}");
            Check("global locks still held", report.GlobalLocks == 0, $"{report.GlobalLocks}");
            Check("global transactions not finished", report.UnfinishedTransactions == 0, $"{report.UnfinishedTransactions}");
            AnsiConsole.MarkupLine($"  [grey]i[/] global-finished markers (a rollback ran before the branch's phase 1 committed, so it never can): {report.Undo.Markers}");
            if (report.Undo.OfCommitted > 0)
            {
                AnsiConsole.MarkupLine($"  [yellow]![/] undo records of committed transactions left behind: {report.Undo.OfCommitted} " +
                    "[grey](the killed service had acknowledged the commit; its background deletion was lost with the process; nothing deletes them later)[/]");
            }
        }
    }

    public static void Verdict(ConsistencyReport report, bool useAtProxy, TimeSpan elapsed)
    {
        AnsiConsole.WriteLine();
        var inconsistent = report.InconsistentSkus.Count();
        if (report.IsConsistent)
        {
            AnsiConsole.MarkupLine($"[bold green]CONSISTENT[/]: every order has its stock deduction and no failed order left anything behind. ({elapsed.TotalSeconds:0} s)");
        }
        else if (useAtProxy)
        {
            AnsiConsole.MarkupLine($"[bold red]INCONSISTENT[/] with AtProxy: {inconsistent} SKU(s) do not add up or AtProxy left state behind (see above). ({elapsed.TotalSeconds:0} s)");
        }
        else
        {
            var orphaned = report.Skus.Sum(s => s.Sold - s.Orders);
            AnsiConsole.MarkupLine($"[bold red]INCONSISTENT[/] without AtProxy: {inconsistent} of {report.Skus.Count} SKUs do not add up; {orphaned} unit(s) deducted from stock for orders that do not exist. ({elapsed.TotalSeconds:0} s)");
            AnsiConsole.MarkupLine("Each service committed or rolled back only its own local transaction. Now run it with AtProxy: [bold]dotnet pwsh ./build.ps1 demo[/]");
        }
        if (useAtProxy && report.IsConsistent)
        {
            AnsiConsole.MarkupLine("The same run without AtProxy, on plain local transactions: [bold]dotnet pwsh ./build.ps1 demo -NoProxy[/]");
        }
    }

    private static void Check(string what, bool ok, string value) =>
        AnsiConsole.MarkupLine($"  {(ok ? "[green]✓[/]" : "[red]✗[/]")} {Markup.Escape(what)}: {Markup.Escape(value)}");

    private static string Mark(bool ok, string detail) => ok ? "[green]✓[/]" : $"[red]✗ {Markup.Escape(detail)}[/]";
}

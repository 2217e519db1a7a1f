using AtProxy.Demo.Contracts;
using AtProxy.Demo.Hosting;
using AtProxy.Demo.Scenario.Locks;
using AtProxy.Hosting;
using AtProxy.Protocol.V1;
using Spectre.Console;

namespace AtProxy.Demo.Scenario;

/// <summary>Places one order that stays open for a few seconds after its writes, and shows the global locks it holds meanwhile.</summary>
internal static class HeldOrder
{
    private const int HoldOpenMs = 2000;

    /// <summary>Places <paramref name="order"/>, shows its locks with <paramref name="view"/>, and returns how it ended.</summary>
    public static async Task<OrderResult> RunAsync(OrderServiceClient orders, CoordinatorServer coordinator, ILockView view, PlannedOrder order, CancellationToken cancellationToken)
    {
        var placing = orders.PlaceAsync(order.ToRequest(HoldOpenMs), cancellationToken);
        // Both branches (orders-db and inventory-db) are registered once each local transaction committed.
        var deadline = DateTime.UtcNow.AddMilliseconds(HoldOpenMs);
        while (DateTime.UtcNow < deadline && !placing.IsCompleted)
        {
            var locks = await coordinator.Admin.ListLocksAsync(new ListLocksRequest { PageSize = 10 }, cancellationToken: cancellationToken);
            if (locks.Locks.Count >= 2)
            {
                break;
            }
            await Task.Delay(50, cancellationToken);
        }
        AnsiConsole.MarkupLine($"[bold]Global locks while one order ({order.Sku}) is held open before its global commit[/], as [bold]atproxy locks list[/] shows them:");
        await view.ShowAsync(coordinator.Address, cancellationToken);
        AnsiConsole.MarkupLine("[grey]Until it commits or rolls back, another global transaction that writes these rows waits for them; a plain read sees the new values.[/]");
        AnsiConsole.WriteLine();
        return await placing;
    }
}

using AtProxy.Protocol.V1;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AtProxy.Coordinator.OperatorConsole.Pages;

/// <summary>The first page: counts by status, store health, what needs a person, who is connected.</summary>
internal sealed class IndexModel(HealthCheckService health) : ConsolePage
{
    public GetCoordinatorStatusResponse? Status { get; private set; }

    public string StoreHealth { get; private set; } = "";

    public IReadOnlyList<Alert> Alerts { get; private set; } = [];

    public IReadOnlyList<GlobalTransactionInfo> Unfinished { get; private set; } = [];

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        Status = await Admin.GetCoordinatorStatusAsync();
        var report = await health.CheckHealthAsync(cancellationToken);
        StoreHealth = string.Join(" ", report.Entries.Values.Select(e => e.Description));
        Alerts = Admin.ListAlerts().Alerts;
        var oldest = await Admin.ListTransactionsAsync(new ListTransactionsRequest { Statuses = { StatusFilter.Unfinished }, PageSize = 10 });
        Unfinished = oldest.Transactions;
    }
}

using AtProxy.Protocol.V1;
using Microsoft.AspNetCore.Mvc;

namespace AtProxy.Coordinator.OperatorConsole.Pages;

/// <summary>The durable record of interventions, newest first.</summary>
internal sealed class InterventionsModel : ConsolePage
{
    [BindProperty(SupportsGet = true)]
    public string? Xid { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? PageToken { get; set; }

    public IReadOnlyList<Intervention> Interventions { get; private set; } = [];

    public string? NextPageToken { get; private set; }

    public async Task OnGetAsync()
    {
        var page = await Admin.ListInterventionsAsync(new ListInterventionsRequest { Xid = Xid?.Trim() ?? "", PageSize = 100, PageToken = PageToken ?? "" });
        Interventions = page.Interventions;
        NextPageToken = page.NextPageToken;
    }
}

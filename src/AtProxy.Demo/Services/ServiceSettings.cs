using System.Globalization;

namespace AtProxy.Demo.Services;

/// <summary>How one service process is started; passed on its command line.</summary>
/// <param name="Role">Orders or inventory.</param>
/// <param name="Port">The HTTP port on 127.0.0.1.</param>
/// <param name="ConnectionString">The service's own database.</param>
/// <param name="Coordinator">The coordinator's address; null runs the service without AtProxy (plain local transactions).</param>
/// <param name="Inventory">The inventory service's address (the order service calls it).</param>
public sealed record ServiceSettings(ServiceRole Role, int Port, string ConnectionString, Uri? Coordinator, Uri? Inventory)
{
    /// <summary>Further coordinators sharing the first one's store (<see cref="AtProxy.AtProxyOptions.AdditionalCoordinators"/>).</summary>
    public IReadOnlyList<Uri> AdditionalCoordinators { get; init; } = [];

    /// <summary>
    /// The undo log's retention, purged every second; null for AtProxy's defaults. The fault campaign
    /// shortens it so undo rows a killed service could not delete are gone within its wait.
    /// </summary>
    public TimeSpan? UndoLogRetention { get; init; }

    /// <summary>The service's HTTP address.</summary>
    public Uri Address => new($"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}");

    /// <summary>The id the coordinator knows the service's database by.</summary>
    public string ResourceId => Role == ServiceRole.Orders ? "orders-db" : "inventory-db";

    /// <summary>The application id the coordinator shows for the service.</summary>
    public string ApplicationId => Role == ServiceRole.Orders ? "order-service" : "inventory-service";

    /// <summary>The command-line arguments that recreate these settings.</summary>
    public IEnumerable<string> ToArguments()
    {
        yield return "--role";
        yield return Role.ToString().ToLowerInvariant();
        yield return "--port";
        yield return Port.ToString(CultureInfo.InvariantCulture);
        yield return "--database";
        yield return ConnectionString;
        if (Coordinator is not null)
        {
            yield return "--coordinator";
            yield return Coordinator.ToString();
        }
        if (Inventory is not null)
        {
            yield return "--inventory";
            yield return Inventory.ToString();
        }
        foreach (var additional in AdditionalCoordinators)
        {
            yield return "--additional-coordinator";
            yield return additional.ToString();
        }
        if (UndoLogRetention is { } retention)
        {
            yield return "--undo-retention-ms";
            yield return ((long)retention.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        }
    }
}

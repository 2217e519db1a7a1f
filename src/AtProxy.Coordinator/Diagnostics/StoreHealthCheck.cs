using AtProxy.Coordinator.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AtProxy.Coordinator.Diagnostics;

/// <summary>Serving while the store accepts changes; NOT_SERVING after a failed write.</summary>
internal sealed class StoreHealthCheck(ICoordinatorStore store) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(store.IsHealthy
            ? HealthCheckResult.Healthy($"The {store.Kind} store accepts changes.")
            : HealthCheckResult.Unhealthy($"The {store.Kind} store stopped accepting changes."));
}

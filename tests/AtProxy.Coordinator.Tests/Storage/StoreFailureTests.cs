using System.Reflection;
using AtProxy.Coordinator.Storage.Embedded;
using Grpc.Health.V1;

namespace AtProxy.Coordinator.Tests.Storage;

/// <summary>A disk that stops taking writes: nothing is acknowledged, the coordinator says it is unavailable.</summary>
public class StoreFailureTests
{
    [Fact]
    public async Task DiskFull_changes_are_refused_with_unavailable_and_health_says_not_serving()
    {
        Assert.True(File.Exists("/dev/full"), "this test needs /dev/full (every Linux has it)");
        await using var coordinator = await InProcessCoordinator.StartAsync("embedded");
        var before = await coordinator.Tm.BeginAsync();
        var store = (EmbeddedCoordinatorStore)coordinator.StoreInstance;
        // Every write from now on fails the way a full disk fails it (ENOSPC).
        var log = typeof(EmbeddedCoordinatorStore).GetField("_log", BindingFlags.NonPublic | BindingFlags.Instance)!;
        var real = (FileStream)log.GetValue(store)!;
        log.SetValue(store, new FileStream("/dev/full", FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0));
        real.Dispose();

        // A begin does not wait for its own flush; the commit does, meets the failed write, and from
        // then on every change, begins included, is refused.
        var commit = await Assert.ThrowsAsync<RpcException>(() => coordinator.Tm.CommitAsync(before));
        var begin = await Assert.ThrowsAsync<RpcException>(() => coordinator.Tm.BeginAsync());

        Assert.Equal(StatusCode.Unavailable, begin.StatusCode);
        Assert.Equal(StatusCode.Unavailable, commit.StatusCode);
        Assert.False(store.IsHealthy);
        Assert.Equal(GlobalStatus.Begin, await coordinator.Tm.StatusAsync(before));
        var health = await new Health.HealthClient(coordinator.Channel).CheckAsync(new HealthCheckRequest());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, health.Status);
    }
}

using AtProxy.Testing.Coordinator;

namespace AtProxy.Coordinator.Tests;

/// <summary>The built coordinator as a real process, through the helper the integration tests share.</summary>
public class CoordinatorProcessTests
{
    [Fact]
    public async Task StartAsync_serves_on_loopback_and_survives_a_graceful_restart()
    {
        await using var coordinator = await CoordinatorProcess.StartAsync();
        var tm = new TransactionManager.TransactionManagerClient(coordinator.Channel);
        var rm = new ResourceManager.ResourceManagerClient(coordinator.Channel);
        Assert.Equal("127.0.0.1", coordinator.Address.Host);
        var xid = await tm.BeginAsync(timeoutMs: 600_000);
        await rm.RegisterGrantedAsync(xid, "db", "t:1");
        var port = coordinator.Address.Port;

        await coordinator.StopAsync();
        Assert.False(coordinator.IsRunning);
        await coordinator.RestartAsync();

        Assert.Equal(port, coordinator.Address.Port);
        Assert.Equal(GlobalStatus.Begin, await tm.StatusAsync(xid));
        var other = await tm.BeginAsync();
        Assert.Equal(xid, (await rm.RegisterAsync(other, "db", "t:1")).Conflict.HolderXid);
        Assert.Equal(GlobalStatus.Committed, await tm.CommitAsync(other));
    }

    [Fact]
    public async Task StartAsync_with_invalid_settings_fails_with_the_coordinators_message()
    {
        var options = new CoordinatorProcessOptions { StartTimeout = TimeSpan.FromSeconds(30) };
        options.Settings["Coordinator:DefaultTimeoutMs"] = "0";

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => CoordinatorProcess.StartAsync(options));

        Assert.Contains("DefaultTimeoutMs must be", error.Message);
    }

    [Fact]
    public async Task StartAsync_settings_from_environment_and_command_line_the_command_line_wins()
    {
        var options = new CoordinatorProcessOptions { Store = "memory" };
        options.Environment["ATPROXY_Coordinator__NodeId"] = "env-node";
        options.Environment["ATPROXY_Coordinator__DefaultTimeoutMs"] = "12345";
        options.Settings["Coordinator:DefaultTimeoutMs"] = "23456";
        await using var coordinator = await CoordinatorProcess.StartAsync(options);
        var tm = new TransactionManager.TransactionManagerClient(coordinator.Channel);

        var begun = await tm.BeginAsync(new BeginRequest { ApplicationId = "app" });

        Assert.StartsWith("env-node:", begun.Xid);
        Assert.Equal(23456u, begun.TimeoutMs);
        var status = await new Protocol.V1.Admin.AdminClient(coordinator.Channel).GetCoordinatorStatusAsync(new GetCoordinatorStatusRequest());
        Assert.Equal(("env-node", "memory"), (status.CoordinatorId, status.StoreKind));
    }
}

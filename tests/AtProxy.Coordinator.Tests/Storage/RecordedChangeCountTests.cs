using System.Diagnostics.Metrics;
using AtProxy.Coordinator.Coordination;
using AtProxy.Coordinator.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace AtProxy.Coordinator.Tests.Storage;

/// <summary>
/// On the shared store a change is recorded only if nobody changed the transaction since it was read;
/// one that lost that race is not recorded and its call runs again. What counts a change (the
/// transactions.ended metric) must count it once it is recorded, never for the lost attempt.
/// </summary>
public class RecordedChangeCountTests
{
    [Fact]
    public async Task An_end_that_lost_a_race_to_another_coordinator_is_not_counted_and_a_recorded_one_is_counted_after_its_write()
    {
        await using var a = await InProcessCoordinator.StartAsync("postgres", s => s["Coordinator:NodeId"] = "tc-a");
        await using var b = await InProcessCoordinator.StartAsync("postgres", s => s["Coordinator:NodeId"] = "tc-b", storeConnection: a.StoreConnection);
        var ended = 0L;
        using var listener = new MeterListener();
        var factory = a.Services.GetRequiredService<IMeterFactory>();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "atproxy.coordinator.transactions.ended" && ReferenceEquals(instrument.Meter.Scope, factory))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref ended, value));
        listener.Start();
        var storeA = a.Services.GetRequiredService<ICoordinatorStore>();
        var changesA = a.Services.GetRequiredService<SessionChanges>();

        // B changes the transaction between A's read and A's write: A's end is refused whole.
        var raced = await a.Tm.BeginAsync();
        var scope = (await storeA.LockAsync(raced))!;
        await changesA.ChangeStatusAsync(scope, GlobalStatus.Rollbacked, "ended by a test");
        await using (var other = (await b.Services.GetRequiredService<ICoordinatorStore>().LockAsync(raced))!)
        {
            await b.Services.GetRequiredService<SessionChanges>().ChangeStatusAsync(other, GlobalStatus.Rollbacking, "changed by a test");
        }
        await Assert.ThrowsAsync<StoreConflictException>(async () => await scope.DisposeAsync());
        Assert.Equal(0, Interlocked.Read(ref ended));

        // Alone, the end is counted once, when its write is done.
        var alone = await a.Tm.BeginAsync();
        var own = (await storeA.LockAsync(alone))!;
        await changesA.ChangeStatusAsync(own, GlobalStatus.Rollbacked, "ended by a test");
        Assert.Equal(0, Interlocked.Read(ref ended));
        await own.DisposeAsync();
        Assert.Equal(1, Interlocked.Read(ref ended));
        Assert.Equal(GlobalStatus.Rollbacked, (await a.Tm.GetStatusAsync(new GetStatusRequest { Xid = alone })).Status);
    }
}

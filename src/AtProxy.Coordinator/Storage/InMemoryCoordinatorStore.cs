using AtProxy.Coordinator.Storage.Records;

namespace AtProxy.Coordinator.Storage;

/// <summary>A store in process memory only: every record is "durable" at once and lost on exit. For tests.</summary>
internal sealed class InMemoryCoordinatorStore : CoordinatorStoreBase
{
    public override string Kind => "memory";

    public override Task OpenAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    protected override Task PersistAsync(StoreRecord record, Action apply)
    {
        apply();
        return Task.CompletedTask;
    }

    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

namespace AtProxy.Coordinator.Storage;

/// <summary>
/// Runs a call again when its change lost a race with another coordinator on the same transaction
/// (<see cref="StoreConflictException"/>: nothing of it was recorded), so it is judged on the new
/// state. The gRPC services and the console's interventions share it.
/// </summary>
internal static class StoreConflictRerun
{
    /// <summary>Tries before a conflict is given up as the store being unavailable.</summary>
    public const int Tries = 3;

    /// <summary>
    /// The call's result; after <see cref="Tries"/> conflicts a <see cref="StoreUnavailableException"/>
    /// (nothing was recorded; try again later).
    /// </summary>
    public static async Task<T> RunAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (StoreConflictException) when (attempt < Tries && !cancellationToken.IsCancellationRequested)
            {
            }
            catch (StoreConflictException ex)
            {
                throw new StoreUnavailableException($"Other coordinators changed the transaction {Tries} times while this change was judged; nothing of it was recorded.", ex);
            }
        }
    }
}

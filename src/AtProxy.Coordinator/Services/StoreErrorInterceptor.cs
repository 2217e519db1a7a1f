using AtProxy.Coordinator.Storage;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace AtProxy.Coordinator.Services;

/// <summary>
/// Answers UNAVAILABLE (retry elsewhere or later) when the store cannot record a change or its
/// database cannot be reached, instead of UNKNOWN. A call whose change lost a race with another
/// coordinator on the same transaction (nothing of it was recorded) is run again here, on the new state.
/// </summary>
internal sealed class StoreErrorInterceptor : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation) =>
        RunAsync(() => continuation(request, context), context.CancellationToken);

    /// <summary>
    /// Runs one call as the unary calls are run: again after a lost race, and with the store's
    /// failures as UNAVAILABLE. The call stream runs each of its requests through it too.
    /// </summary>
    public static async Task<T> RunAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await StoreConflictRerun.RunAsync(call, cancellationToken);
        }
        catch (StoreUnavailableException ex)
        {
            throw CoordinatorErrors.StoreUnavailable(ex);
        }
        catch (Npgsql.NpgsqlException ex)
        {
            // The shared store's database is unreachable or refused the change: nothing was recorded.
            throw CoordinatorErrors.StoreUnavailable(ex);
        }
    }
}

namespace AtProxy.Threading;

/// <summary>
/// The synchronous ADO.NET methods (<c>ExecuteNonQuery</c>, <c>Commit</c>, ...) run the same async
/// code as their async twins and wait for it. The wait must not deadlock under a single-threaded
/// <see cref="SynchronizationContext"/> (WinForms, WPF, old ASP.NET): the operation is started with no
/// context, so none of its continuations can be queued to the thread that is blocked waiting.
/// </summary>
internal static class Blocking
{
    /// <summary>Starts <paramref name="operation"/> outside the caller's synchronization context and waits for its result.</summary>
    public static T Wait<T>(Func<Task<T>> operation)
    {
        var context = SynchronizationContext.Current;
        if (context is null)
        {
            return operation().GetAwaiter().GetResult();
        }
        Task<T> task;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            task = operation();
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(context);
        }
        return task.GetAwaiter().GetResult();
    }

    /// <inheritdoc cref="Wait{T}(Func{Task{T}})"/>
    public static void Wait(Func<Task> operation) => Wait(async () =>
    {
        await operation().ConfigureAwait(false);
        return true;
    });
}

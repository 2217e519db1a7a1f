namespace AtProxy.Threading;

/// <summary>
/// The synchronous ADO.NET methods (<c>ExecuteNonQuery</c>, <c>Commit</c>, ...) run the same async
/// code as their async twins and wait for it. The wait must not deadlock when the caller runs under
/// a single-threaded <see cref="SynchronizationContext"/> (WinForms, WPF, old ASP.NET) or a custom
/// <see cref="TaskScheduler"/>: an await anywhere in the operation (the library's own are configured,
/// but a provider's or an application callback's may not be) would queue its continuation to the
/// very thread that is blocked waiting. There, the operation runs on the thread pool instead.
/// </summary>
internal static class Blocking
{
    /// <summary>Runs <paramref name="operation"/> and waits for its result without capturing the caller's context.</summary>
    public static T Wait<T>(Func<Task<T>> operation) =>
        SynchronizationContext.Current is null && TaskScheduler.Current == TaskScheduler.Default
            ? operation().GetAwaiter().GetResult()
            // Task.Run flows the ExecutionContext: the ambient global transaction goes along.
            : Task.Run(operation).GetAwaiter().GetResult();

    /// <inheritdoc cref="Wait{T}(Func{Task{T}})"/>
    public static void Wait(Func<Task> operation)
    {
        if (SynchronizationContext.Current is null && TaskScheduler.Current == TaskScheduler.Default)
        {
            operation().GetAwaiter().GetResult();
        }
        else
        {
            Task.Run(operation).GetAwaiter().GetResult();
        }
    }
}
